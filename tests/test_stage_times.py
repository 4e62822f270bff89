"""Stage times from Snakemake benchmark files (the figures README's stage tables come from)."""

import pytest

from alloypref.cli import main
from alloypref.stage_times import BenchmarkError, stage_times

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{s}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n" for s, rss, cpu in rows))


def test_jobs_are_summed_per_rule_and_the_largest_job_is_kept(tmp_path):
    bench = tmp_path / "benchmarks"
    write(bench / "score" / "tiny-sft-1-of-2.tsv", (100.0, 900.0, 80.0))
    write(bench / "score" / "tiny-sft-2-of-2.tsv", (50.0, 1200.0, 30.0))
    write(bench / "sft" / "tiny.tsv", (40.0, 500.0, 60.0), (60.0, 700.0, 100.0))  # two repeats: their mean
    write(bench / "manifest.tsv", (1.0, 100.0, "-"))  # a rule of one job; "-": not measured
    table = stage_times(tmp_path).set_index("rule")
    assert list(table.index) == ["score", "sft", "manifest"]  # most CPU first
    assert table.loc["score"].tolist() == [2, 150.0, 110.0, 80.0, 1200.0]
    assert table.loc["sft"].tolist() == [1, 50.0, 80.0, 80.0, 600.0]
    assert table.loc["manifest", "jobs"] == 1 and table.loc["manifest", "wall_s"] == 1.0


def test_a_file_that_is_not_a_benchmark_is_named(tmp_path):
    bad = tmp_path / "benchmarks" / "score" / "x.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(BenchmarkError, match=r"score/x\.tsv.*cpu_time"):
        stage_times(tmp_path)


def test_cli_prints_the_table_and_totals(tmp_path, capsys):
    write(tmp_path / "benchmarks" / "sft" / "tiny.tsv", (40.0, 500.0, 60.0))
    assert main(["stage-times", str(tmp_path), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| sft " in out and "1 jobs, 40 s of job wall time, 60 CPU s" in out
    assert main(["stage-times", str(tmp_path / "missing")]) == 2
    assert "no benchmarks folder" in capsys.readouterr().err
