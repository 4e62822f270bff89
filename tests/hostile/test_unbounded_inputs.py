"""Inputs that ask for unbounded work are refused with the bound named: a shard count no
workflow can plan, and a benchmark "file" that is a pipe (a read that never returns) or
``/dev/zero`` (a read that never ends)."""

import os
import subprocess
import sys

import pytest
import yaml

from alloypref import config as config_module
from alloypref.scoring import split_triples

from ..helpers import REPO, triples

HUGE = 10**9


@pytest.mark.parametrize(
    "override, key",
    [
        ({"scoring": {"shards": HUGE}}, "scoring.shards"),
        ({"design_space": {"filter": {"shards": HUGE}}}, "design_space.filter.shards"),
    ],
)
def test_a_shard_count_beyond_the_bound_is_refused(override, key):
    with pytest.raises(
        config_module.ConfigError, match=f"config key {key}: {HUGE} is greater than the maximum of 1024"
    ):
        config_module.load(None, override)


def test_the_bound_itself_is_accepted_and_is_the_schemas_for_every_shard_count():
    from alloypref.config_schema import schema_node

    assert config_module.MAX_SHARDS == 1024
    assert schema_node("design_space.filter.shards")["maximum"] == config_module.MAX_SHARDS
    assert config_module.load(None, {"scoring": {"shards": 1024}})["scoring"]["shards"] == 1024


def test_splitting_into_more_shards_than_the_bound_is_refused():
    with pytest.raises(ValueError, match="number of shards must be from 1 to 1,024"):
        split_triples(triples([("a", "Nb", "NiAl", 30.0)]), HUGE)


@pytest.mark.workflow
def test_workflow_refuses_a_huge_shard_count_before_planning(tmp_path):
    config = tmp_path / "huge.yaml"
    settings = yaml.safe_load((REPO / "tests/config/config.yaml").read_text(encoding="utf-8"))
    settings.setdefault("scoring", {})["shards"] = HUGE
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    # Snakemake's own validation of the config file names the key first, by its path in the config
    assert "On instance['scoring']['shards']" in result.stdout + result.stderr
    assert "greater than the maximum of 1024" in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_stage_times_refuses_a_benchmark_that_is_not_a_regular_file(tmp_path, kind):
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    (benchmarks / "sft.tsv").write_text("s\tmax_rss\tcpu_time\n1.0\t10\t1.0\n", encoding="utf-8")
    odd = benchmarks / "score.tsv"
    if kind == "fifo":
        os.mkfifo(odd)
    else:
        odd.symlink_to("/dev/zero")
    result = subprocess.run(
        [sys.executable, "-m", "alloypref.cli", "stage-times", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        timeout=60,  # the unfixed reader blocks on the pipe, or reads /dev/zero until memory runs out
    )
    assert result.returncode == 2
    assert f"{odd}: not a regular file" in result.stderr and "Traceback" not in result.stderr
