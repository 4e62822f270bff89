"""Hostile configs: every one is refused with the key (or file and line) named."""

import subprocess
import sys

import pytest

from alloypref import config as config_module
from alloypref.calphad.databases import DatabaseError, DatabaseSettings, load_database

from ..helpers import DATA, REPO

NAN, INF = float("nan"), float("inf")

BAD_OVERRIDES = [
    ({"reward": {"weight_bcc_b2_exist": NAN}}, "reward.weight_bcc_b2_exist"),  # every reward NaN, status ok
    ({"reward": {"weight_others_exceed": INF}}, "reward.weight_others_exceed"),
    ({"reward": {"weight_b2_room_temp": -INF}}, "reward.weight_b2_room_temp"),
    ({"reward": {"mismatch_cap": NAN}}, "reward.mismatch_cap"),
    ({"calphad": {"temperatures_K": [1273.15]}}, "calphad.temperatures_K"),  # rule 2 can never hold
    ({"calphad": {"temperatures_K": [1273.15, 1273.15]}}, "calphad.temperatures_K"),
    ({"calphad": {"temperatures_K": [NAN, 1273.15]}}, "calphad.temperatures_K.0"),
    ({"calphad": {"temperatures_K": [INF, 1273.15]}}, "calphad.temperatures_K.0"),
    ({"calphad": {"temperatures_K": [-5, 1273.15]}}, "calphad.temperatures_K.0"),
    ({"calphad": {"timeout_s": INF}}, "calphad.timeout_s"),
    ({"calphad": {"timeout_s": 0}}, "calphad.timeout_s"),
    ({"calphad": {"min_coverage": NAN}}, "calphad.min_coverage"),
    ({"design_space": {"volume": {"mean": NAN}}}, "design_space.volume.mean"),
    ({"design_space": {"elements": ["Ni", "al"]}}, "design_space.elements.1"),
    ({"pairs": {"top_fraction": NAN}}, "pairs.top_fraction"),
    ({"seed": "forty-two"}, "seed"),
    ({"scoring": {"shards": 0}}, "scoring.shards"),
    ({"models": {}}, "models"),
    ({"models": {"tiny": {"source": "gpt"}}}, "models.tiny.source"),
    ({"models": {"bad-name": {"source": "tiny"}}}, "models"),
    ({"evaluation": {"bootstrap": 10}}, "evaluation.bootstrap"),
    ({"typo_key": 1}, "(top level)"),
]


@pytest.mark.parametrize("override, key", BAD_OVERRIDES, ids=[k + f"-{i}" for i, (_, k) in enumerate(BAD_OVERRIDES)])
def test_bad_value_names_the_key(override, key):
    with pytest.raises(
        config_module.ConfigError, match=f"config key {key.replace('.', '[.]').replace('(', '[(]').replace(')', '[)]')}"
    ):
        config_module.load(None, override)


def test_repeated_database_names_are_refused():
    databases = [{"name": "a", "path": "x.tdb"}, {"name": "a", "path": "y.tdb"}]
    cfg = config_module.load(None, {"calphad": {"databases": databases}})
    with pytest.raises(config_module.ConfigError, match="calphad.databases: database names repeat"):
        config_module.calphad_settings(cfg)


BAD_FILES = [
    ("seed: 1\nseed: 2\n", "line 2: key 'seed' repeats"),
    (
        "models:\n  tiny: {source: tiny}\n  tiny: {source: local}\n",
        "line 3: key 'tiny' repeats",
    ),  # silently kept the last
    ("calphad:\n  databases:\n    - {name: a, path: x, name: b}\n", "key 'name' repeats"),
    ("reward:\n  weight_bcc_b2_exist: 1\n  weight_bcc_b2_exist: 2\n", "key 'weight_bcc_b2_exist' repeats"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("seed: [1,\n", "not valid YAML"),
    ("seed: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
]


@pytest.mark.parametrize(
    "text, message", BAD_FILES, ids=[m.split(":")[-1].strip()[:20] + str(i) for i, (_, m) in enumerate(BAD_FILES)]
)
def test_bad_config_file_names_file_and_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(config_module.ConfigError, match="bad.yaml") as caught:
        config_module.load(path)
    assert message in str(caught.value)


def test_non_utf8_and_missing_config_files(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("seed: 1 # caf\xe9\n".encode("latin-1"))
    with pytest.raises(config_module.ConfigError, match="latin.yaml: not UTF-8"):
        config_module.load(latin)
    with pytest.raises(config_module.ConfigError, match="missing.yaml not found"):
        config_module.load(tmp_path / "missing.yaml")


def test_phase_role_typo_is_caught_even_with_a_built_cache(tmp_path):
    """``NiAl: b2`` for ``NIAL: b2`` silently made every B2 'other' once the database was cached."""
    cache = tmp_path / "cache"
    good = DatabaseSettings("nial", str(DATA / "NI_AL_DUPIN_2001.TDB"), {"BCC_A2": "bcc_like", "LIQUID": "liquid"})
    load_database(good, cache)  # builds the cache
    assert list((cache / "databases").iterdir())
    typo = DatabaseSettings("nial", good.path, {"Bcc_A2": "bcc_like", "LIQUID": "liquid"})
    with pytest.raises(DatabaseError, match=r"'Bcc_A2'.*did you mean 'BCC_A2'"):
        load_database(typo, cache)
    with pytest.raises(DatabaseError, match="Bcc_A2"):
        load_database(typo, None)


def snakemake_dry_run(tmp_path, text):
    config = tmp_path / "c.yaml"
    config.write_text((REPO / "tests/config/config.yaml").read_text() + text)
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(config)], cwd=REPO, capture_output=True, text=True
    )


@pytest.mark.workflow
def test_workflow_refuses_repeated_keys_and_a_one_temperature_grid(tmp_path):
    result = snakemake_dry_run(tmp_path, "seed: 1\nseed: 2\n")
    assert result.returncode != 0
    assert "key 'seed' repeats" in result.stdout + result.stderr
    result = snakemake_dry_run(tmp_path, "reward: {weight_bcc_b2_exist: .nan}\n")
    assert result.returncode != 0
    assert "config key reward.weight_bcc_b2_exist: nan is not a finite number" in result.stdout + result.stderr
