"""Shared fixtures: parsed databases and compiled systems are built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from alloypref import config as config_module
from alloypref.calphad.databases import DatabaseSettings
from alloypref.calphad.pycalphad_backend import PycalphadBackend, PycalphadSettings

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


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
    s = default_settings
    return PycalphadBackend(
        s.databases, PycalphadSettings(**s.pycalphad, order_threshold=s.order_threshold), s.cache_dir, s.b2_formers
    )


@pytest.fixture(scope="session")
def reference_backend(cache_dir) -> PycalphadBackend:
    """The two small published assessments: Ni-Al (Dupin 2001) and Al-Fe (Seiersten)."""
    specs = [
        DatabaseSettings(
            "nial", str(DATA / "NI_AL_DUPIN_2001.TDB"), {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like", "LIQUID": "liquid"}
        ),
        DatabaseSettings(
            "alfe", str(DATA / "alfe_sei.TDB"), {"BCC_A2": "bcc_like", "B2_BCC": "bcc_like", "LIQUID": "liquid"}
        ),
    ]
    return PycalphadBackend(specs, PycalphadSettings(), cache_dir)
