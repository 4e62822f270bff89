"""Outputs go where the user said and nowhere else: a results root that is empty, the filesystem
root, the package or a code folder is refused naming ``results_dir``; package data is written only
to an explicit ``--out``."""

import subprocess
import sys

import pytest

from alloypref import cli
from alloypref import config as config_module

from ..helpers import REPO

ESCAPING = {
    "empty": "",
    "blank": "  ",
    "filesystem root": "/",
    "filesystem root, slashes": "///",
    "root by dots": "/../..",
    "the package": str(REPO / "src/alloypref"),
    "inside the package": str(REPO / "src/alloypref/data"),
    "src": "src",
    "rules": "rules/",
    "workflow_scripts": "./workflow_scripts",
    "inside rules": "rules/../rules/out",
}


@pytest.mark.parametrize("value", list(ESCAPING.values()), ids=list(ESCAPING))
def test_results_dir_that_would_write_over_code_or_root_is_refused(value, monkeypatch):
    monkeypatch.chdir(REPO)
    with pytest.raises(config_module.ConfigError, match="config key results_dir: "):
        config_module.load(None, {"results_dir": value})


@pytest.mark.parametrize("value", ["results", "results/medium", "results_src", "src_results"])
def test_results_dirs_beside_the_code_are_fine(value, monkeypatch):
    monkeypatch.chdir(REPO)
    assert config_module.load(None, {"results_dir": value})["results_dir"] == value


@pytest.mark.workflow
def test_workflow_refuses_the_filesystem_root_as_results_dir(tmp_path):
    config = tmp_path / "root.yaml"
    config.write_text((REPO / "tests/config/config.yaml").read_text() + 'results_dir: "/"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(config)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "config key results_dir: '/'" in result.stdout + result.stderr


def test_ship_design_space_needs_an_explicit_out(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ship-design-space", str(tmp_path), "--config", str(REPO / "config/config.yaml")])
    assert exit_info.value.code == 2
    assert "--out" in capsys.readouterr().err
