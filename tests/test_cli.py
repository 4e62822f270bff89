"""The `alloypref` command line: version, help text, JSON output, and where its cache goes."""

import json
import os
import subprocess
import sys

import pytest

from alloypref import __version__
from alloypref.cli import cache_dir, main

from .helpers import DATA, REPO

NIAL_CONFIG = (
    "calphad:\n  temperatures_K: [373.15, 1273.15]\n"
    f"  databases:\n    - name: nial\n      path: {DATA / 'NI_AL_DUPIN_2001.TDB'}\n"
    "      phase_roles: {BCC_A2: bcc_like, BCC_B2: bcc_like, LIQUID: liquid}\n"
)


def cli(args, cwd, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "alloypref.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_version(tmp_path):
    result = cli(["--version"], tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"alloypref {__version__}"


def test_help_names_the_databases_and_has_no_rest_markup(capsys):
    for argv in (["-h"], ["score", "-h"]):
        try:
            main(argv)
        except SystemExit:
            pass
        text = capsys.readouterr().out
        assert "``" not in text
    assert "mc_ni, cost507" in text


def test_json_output_and_a_cache_outside_the_working_directory(tmp_path):
    (tmp_path / "nial.yaml").write_text(NIAL_CONFIG)
    work = tmp_path / "elsewhere"
    work.mkdir()
    cache = tmp_path / "cache"
    result = cli(
        ["score", "Ni", "NiAl", "60", "--config", str(tmp_path / "nial.yaml"), "--json"],
        work,
        {"ALLOYPREF_CACHE": str(cache)},
    )
    assert result.returncode in (0, 1), result.stderr  # 1: scored, but not status ok
    record = json.loads(result.stdout)
    assert record["result"]["database"] == "nial"
    assert record["triple"] == {"bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 60.0}
    phases = {row["phase"] for row in record["phase_table"]}
    assert "BCC_B2#1" in phases and {row["temperature_K"] for row in record["phase_table"]} == {373.15, 1273.15}
    assert isinstance(record["result"]["reward"], float)
    assert list(work.iterdir()) == []  # nothing written where it ran
    assert any(cache.rglob("*"))  # the cache went where $ALLOYPREF_CACHE says


def test_cache_location_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("ALLOYPREF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir(None, None) == tmp_path / "xdg" / "alloypref" / "calphad"
    config = tmp_path / "c.yaml"
    config.write_text("calphad: {cache_dir: /data/calphad}\n")
    assert str(cache_dir(None, str(config))) == "/data/calphad"
    monkeypatch.setenv("ALLOYPREF_CACHE", str(tmp_path / "env"))
    assert cache_dir(None, str(config)) == tmp_path / "env"
    assert cache_dir(str(tmp_path / "flag"), str(config)) == tmp_path / "flag"


def test_ship_trust_needs_out_and_names_a_database_without_phase_kinds(tmp_path, capsys):
    try:
        main(["ship-trust"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "--out" in capsys.readouterr().err
    (tmp_path / "nial.yaml").write_text(NIAL_CONFIG)
    code = main(
        [
            "ship-trust",
            "--out",
            str(tmp_path / "out"),
            "--config",
            str(tmp_path / "nial.yaml"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "NI_AL_DUPIN_2001.TDB" in err and "database_phase_kinds.csv" in err
    assert not (tmp_path / "out").exists()


def test_ship_trust_bad_config_is_a_message(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("calphad:\n  trust: {negligible_fraction: 2}\n")
    assert main(["ship-trust", "--out", str(tmp_path / "out"), "--config", str(tmp_path / "bad.yaml")]) == 2
    assert "negligible_fraction" in capsys.readouterr().err


def test_score_prints_every_trust_reason_from_trust_evidence(tmp_path):
    import pandas as pd

    from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
    from alloypref.calphad.report_card import SUBSYSTEM_VERDICT_SCHEMA
    from alloypref.io import write_parquet

    from .helpers import verdict

    (tmp_path / "nial.yaml").write_text(NIAL_CONFIG)
    evidence = tmp_path / "databases"
    write_parquet(
        pd.DataFrame([], columns=PHASE_CHECK_SCHEMA.names),
        evidence / "phase_inventory_phases.parquet",
        PHASE_CHECK_SCHEMA,
    )
    verdicts = pd.DataFrame(
        [verdict("nial", "Al-Ni", ["alni_one", "alni_two"])], columns=SUBSYSTEM_VERDICT_SCHEMA.names
    )
    write_parquet(verdicts, evidence / "subsystem_verdicts.parquet", SUBSYSTEM_VERDICT_SCHEMA)
    args = ["score", "Ni", "NiAl", "60", "--config", str(tmp_path / "nial.yaml"), "--trust-evidence", str(evidence)]
    result = cli(args, tmp_path, {"ALLOYPREF_CACHE": str(tmp_path / "cache")})
    assert result.returncode in (0, 1), result.stderr
    assert "NOT TRUSTED" in result.stdout
    assert "  - Al-Ni: nial fails detection fact(s) alni_one, alni_two" in result.stdout.splitlines()
    record = json.loads(cli([*args, "--json"], tmp_path, {"ALLOYPREF_CACHE": str(tmp_path / "cache")}).stdout)
    assert record["trust"]["trusted"] is False and record["result"]["trusted"] is False
    missing = cli([*args[:-1], str(tmp_path / "nowhere")], tmp_path)
    assert missing.returncode == 2 and "nowhere" in missing.stderr and "subsystem_verdicts.parquet" in missing.stderr


def test_score_plot_draws_one_line_per_phase_of_the_candidate(tmp_path):
    import pandas as pd

    from alloypref.evaluation.figures import phase_fraction_figure
    from alloypref.evaluation.phase_curves import phase_curves

    config = NIAL_CONFIG.replace("[373.15, 1273.15]", "[373.15, 1273.15, 1873.15]")
    (tmp_path / "nial.yaml").write_text(config)
    plot = tmp_path / "plots" / "nial.png"
    args = ["score", "Ni", "NiAl", "60", "--config", str(tmp_path / "nial.yaml"), "--json", "--plot", str(plot)]
    result = cli(args, tmp_path, {"ALLOYPREF_CACHE": str(tmp_path / "cache")})
    assert result.returncode in (0, 1), result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {plot}" in result.stderr
    # the chart the command drew, from the phase table it printed: a line per (phase, structure) present
    table = pd.DataFrame(json.loads(result.stdout)["phase_table"])
    present = {(row.phase, row.structure) for row in table.itertuples()}
    ax = phase_fraction_figure(phase_curves(table), "t").axes[0]
    assert sorted(line.get_label() for line in ax.get_lines()) == sorted(f"{p} ({s})" for p, s in present)
    assert ax.get_xlabel() == "temperature (K)" and "fraction" in ax.get_ylabel()
    # nothing to draw for a candidate no database computes: said, no file
    missing = cli(
        ["score", "Ni", "NiW", "60", "--config", str(tmp_path / "nial.yaml"), "--plot", str(tmp_path / "w.png")],
        tmp_path,
        {"ALLOYPREF_CACHE": str(tmp_path / "cache")},
    )
    assert "no phase table to plot" in missing.stderr and not (tmp_path / "w.png").exists()


def scored_row(**values):
    """A reward row of `score_one` (the columns the printout reads), status ok unless given."""
    row = {"candidate_id": "cli", "master_composition": "Al30Ni70", "elements": "Al-Ni", "status": "ok"}
    row |= {"reason": "", "database": "nial", "coverage": 1.0, "low_coverage": False, "trusted": True}
    row |= {"trust_reason": "", "reward": -0.05, "bcc_b2_exist": True, "bcc_forms_first": True}
    row |= {"b2_room_temp": True, "others_exceed_10": False, "min_lattice_mismatch_A": 0.05}
    return row | values


def score_printout(monkeypatch, capsys, row, *options):
    """What `alloypref score` prints for a candidate whose reward row ``score_one`` returns as given."""
    import pandas as pd

    import alloypref.backend_factory
    import alloypref.scoring

    from .helpers import FakeBackend

    monkeypatch.setattr(alloypref.scoring, "score_one", lambda *args: (row, pd.DataFrame()))
    monkeypatch.setattr(alloypref.backend_factory, "make_backend", lambda settings: FakeBackend())
    code = main(["score", "Ni", "NiAl", "60", *options])
    return code, capsys.readouterr().out


def test_score_prints_why_a_candidate_is_not_scored_and_no_rule_flags(monkeypatch, capsys):
    reason = "no configured database holds all of ['Al', 'Cr', 'Ni']"
    row = scored_row(status="invalid", reason=reason, database="", coverage=0.0, low_coverage=True, reward=-1121.0)
    code, out = score_printout(monkeypatch, capsys, row)
    assert code == 1
    assert f"not scored (status invalid): {reason}" in out.splitlines()
    for placeholder in ("bcc_b2_exist", "others_exceed", "min_lattice_mismatch", "coverage", "trusted"):
        assert placeholder not in out
    assert "-1121.0000  (the worst reward, which a candidate that is not scored gets)" in out
    failed = scored_row(status="failed", reason="pycalphad failed: timeout", reward=-1121.0)
    assert (
        "not scored on nial (status failed): pycalphad failed: timeout"
        in score_printout(monkeypatch, capsys, failed)[1]
    )


def test_score_prints_the_mismatch_as_known(monkeypatch, capsys):
    def mismatch_line(row, *options):
        out = score_printout(monkeypatch, capsys, row, *options)[1]
        return next(line for line in out.splitlines() if line.startswith("min_lattice_mismatch"))

    assert mismatch_line(scored_row()).split() == ["min_lattice_mismatch", "0.0500", "Å"]
    apart = mismatch_line(scored_row(bcc_b2_exist=False, min_lattice_mismatch_A=10.0))
    assert "BCC and B2 never coexist: no mismatch" in apart and "10.0000" not in apart
    capped = mismatch_line(scored_row(min_lattice_mismatch_A=10.0))
    assert "the cap: at least this, or no lattice parameters where BCC and B2 coexist" in capped
    assert "10.0000" not in capped


def test_score_prints_a_relative_mismatch_without_a_unit(monkeypatch, capsys, tmp_path):
    (tmp_path / "relative.yaml").write_text("reward: {mismatch: relative, mismatch_cap: 0.5}\n")
    out = score_printout(
        monkeypatch, capsys, scored_row(min_lattice_mismatch_A=0.0123), "--config", str(tmp_path / "relative.yaml")
    )[1]
    assert "min_lattice_mismatch   0.0123 (relative)" in out.splitlines() and "Å" not in out


@pytest.mark.slow
def test_a_cold_score_says_what_it_compiles_and_a_warm_one_compiles_nothing(tmp_path):
    (tmp_path / "nial.yaml").write_text(NIAL_CONFIG)
    args = [
        "score",
        "Ni",
        "NiAl",
        "60",
        "--config",
        str(tmp_path / "nial.yaml"),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    cold = cli(args, tmp_path)
    assert cold.returncode in (0, 1), cold.stderr
    progress = cold.stderr.splitlines()
    assert progress[0] == "compiling Al-Ni on nial (once: later uses load it from the cache)", cold.stderr
    assert any(line.startswith("compiled Al-Ni on nial in ") for line in progress), cold.stderr
    # in this database's Ni-rich corner B2 lives at 1273 K only and no BCC forms: nothing to compare
    assert "min_lattice_mismatch   BCC and B2 never coexist: no mismatch" in cold.stdout, cold.stdout
    warm = cli(args, tmp_path)
    assert warm.stdout == cold.stdout and "compiling" not in warm.stderr
