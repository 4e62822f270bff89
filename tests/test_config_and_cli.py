"""Config validation names the culprit; the one-candidate command prints a table and a reward."""

import pytest

from alloypref import config as config_module
from alloypref.cli import main

from .helpers import DATA, REPO


def test_defaults_fill_an_empty_config():
    cfg = config_module.load(None)
    assert cfg["calphad"]["pycalphad"]["pdens"] == 20
    assert [d["name"] for d in cfg["calphad"]["databases"]] == ["mc_ni", "cost507"]
    settings = config_module.calphad_settings(cfg)
    assert len(settings.temperatures_K) == 24
    assert settings.reward.worst_reward == -1121.0
    assert settings.reward.mismatch == "absolute"
    assert settings.order_threshold == 0.05  # the authors' value
    assert cfg["pairs"]["same_database"] is True
    relative = config_module.calphad_settings(config_module.load(None, {"reward": {"mismatch": "relative"}}))
    assert relative.reward.mismatch == "relative"


@pytest.mark.parametrize(
    "override, key",
    [
        ({"calphad": {"pycalphad": {"pdens": 0}}}, "calphad.pycalphad.pdens"),
        ({"calphad": {"min_coverage": 2}}, "calphad.min_coverage"),
        ({"calphad": {"trust": {"min_competing_fraction": 1.5}}}, "calphad.trust.min_competing_fraction"),
        ({"calphad": {"min_confidence": 0.5}}, "calphad"),  # the pair-weighted confidence is gone
        ({"cross_database": {"sample_per_source": -1}}, "cross_database.sample_per_source"),
        ({"reward": {"weight_bcc_b2_exist": "high"}}, "reward.weight_bcc_b2_exist"),
        (
            {"calphad": {"databases": [{"name": "x", "path": "x.tdb", "phase_roles": {"BCC_A2": "bcc"}}]}},
            "calphad.databases.0.phase_roles.BCC_A2",
        ),
        ({"scoring": {"shards": 2, "shard": 3}}, "scoring"),
        ({"reward": {"mismatch": "percent"}}, "reward.mismatch"),
        ({"calphad": {"order_threshold": 1.5}}, "calphad.order_threshold"),
        ({"pairs": {"same_database": "yes"}}, "pairs.same_database"),
    ],
)
def test_bad_config_names_the_key(override, key):
    with pytest.raises(config_module.ConfigError, match=key.replace(".", r"\.")):
        config_module.load(None, override)


def test_command_line_values_are_typed_inside_mappings_and_lists():
    """Snakemake's --config reads `grpo={steps: 3}` with YAML's base loader: every nested scalar a string."""
    raw = {
        "seed": 7,
        "results_dir": "results/x",
        "grpo": {"steps": "3", "algorithm": "grpo", "learning_rate": "0.0003"},
        "calphad": {"temperatures_K": ["373.15", "1273.15"], "cache_dir": "null"},
        "report_card": {"facts": "a: b"},
        "pairs": {"same_database": "false"},
    }
    assert config_module.typed_command_line_values(raw) == {
        "seed": 7,
        "results_dir": "results/x",
        "grpo": {"steps": 3, "algorithm": "grpo", "learning_rate": 0.0003},
        "calphad": {"temperatures_K": [373.15, 1273.15], "cache_dir": None},
        "report_card": {"facts": "a: b"},  # a string YAML would read as a mapping stays a string
        "pairs": {"same_database": False},
    }


def test_shipped_configs_validate():
    config_module.load(REPO / "config" / "config.yaml")


def test_cli_scores_one_candidate(tmp_path, capsys):
    cfg = tmp_path / "nial.yaml"
    cfg.write_text(
        f"calphad:\n  cache_dir: {tmp_path / 'cache'}\n  temperatures_K: [373.15, 1273.15]\n"
        f"  databases:\n    - name: nial\n      path: {DATA / 'NI_AL_DUPIN_2001.TDB'}\n"
        "      phase_roles: {BCC_A2: bcc_like, BCC_B2: bcc_like, LIQUID: liquid}\n"
    )
    code = main(["score", "Ni", "NiAl", "60", "--config", str(cfg)])
    out = capsys.readouterr().out
    assert "database nial" in out
    assert "BCC_B2#1" in out and "reward" in out
    assert "status ok" in out
    assert code == 0  # 0 exactly when the candidate was scored ok


def test_cli_reports_a_bad_formula(capsys):
    assert main(["score", "Xx2", "NiAl", "30"]) == 2
    assert "Xx2" in capsys.readouterr().err


def test_thermocalc_absence_is_a_clear_message():
    from alloypref.backend_factory import make_backend
    from alloypref.calphad.thermocalc_backend import ThermoCalcUnavailable

    settings = config_module.calphad_settings(config_module.load(None, {"calphad": {"backend": "thermocalc"}}))
    try:
        import tc_python  # noqa: F401
    except ImportError:
        with pytest.raises(ThermoCalcUnavailable, match="tc-python is not importable.*calphad.backend: pycalphad"):
            make_backend(settings)
    else:  # pragma: no cover - only where Thermo-Calc is installed
        pytest.skip("tc-python is installed here")
