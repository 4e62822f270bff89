"""Hostile source names: a name chosen in the config (baselines.external, baselines.api) that is
already another source's was silently scored as the other one; it is refused, naming key and value."""

import subprocess
import sys

import pytest
import yaml

from alloypref import config as config_module

from ..helpers import REPO

API = {"base_url": "http://localhost:1/v1", "model": "m", "method": "few_shot", "n": 2}

COLLISIONS = [
    ({"external": {"random": "config/example_triples.csv"}}, "baselines.external.random", "'random'"),
    ({"external": {"example": "config/example_triples.csv"}}, "baselines.external.example", "'example'"),
    ({"api": {"random": API}}, "baselines.api.random", "'random'"),
    ({"api": {"example": API}}, "baselines.api.example", "'example'"),
    # the same name in both blocks: one of the two would be dropped
    ({"external": {"mine": "config/example_triples.csv"}, "api": {"mine": API}}, "baselines.api.mine", "'mine'"),
]


@pytest.mark.parametrize("baselines, key, value", COLLISIONS, ids=[key for _, key, _ in COLLISIONS])
def test_a_source_named_like_another_is_refused(baselines, key, value):
    with pytest.raises(config_module.ConfigError, match=f"config key {key.replace('.', '[.]')}: the name {value}"):
        config_module.load(None, {"baselines": baselines})


def test_the_random_search_switched_off_still_reserves_its_name():
    """baselines.random: false frees no name: a later switch back would collide again."""
    with pytest.raises(config_module.ConfigError, match="baselines.external.random"):
        config_module.load(None, {"baselines": {"random": False, "external": {"random": "x.csv"}}})


def test_distinct_names_are_accepted():
    config = config_module.load(None, {"baselines": {"external": {"mine": "x.csv"}, "api": {"theirs": API}}})
    assert list(config["baselines"]["external"]) == ["mine"] and list(config["baselines"]["api"]) == ["theirs"]


@pytest.mark.workflow
def test_the_workflow_refuses_an_external_source_named_random(tmp_path):
    config = yaml.safe_load((REPO / "tests/config/config.yaml").read_text())
    config.setdefault("baselines", {})["external"] = {"random": "config/example_triples.csv"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(path)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "config key baselines.external.random: the name 'random' is already a built-in source's" in (
        result.stdout + result.stderr
    )
