"""Shared fixtures: parsed databases and compiled systems are built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from alloypref import config as config_module
from alloypref.backend_factory import make_backend
from alloypref.calphad.pycalphad_backend import PycalphadBackend

from .helpers import ALFE, NIAL, REPO, pycalphad_backend


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("calphad-cache")


@pytest.fixture(scope="session")
def default_settings(cache_dir):
    cfg = config_module.load(REPO / "config" / "config.yaml", {})
    cfg["calphad"]["cache_dir"] = str(cache_dir)
    return config_module.calphad_settings(cfg)


@pytest.fixture(scope="session")
def open_backend(default_settings) -> PycalphadBackend:
    """mc_ni + COST507, as configured by default."""
    return make_backend(default_settings)


@pytest.fixture(scope="session")
def reference_backend(cache_dir) -> PycalphadBackend:
    """The two small published assessments: Ni-Al (Dupin 2001) and Al-Fe (Seiersten)."""
    return pycalphad_backend([NIAL, ALFE], cache_dir)
