"""A compiled-system cache file that holds another system than its key names (renamed, copied over,
written by a buggy build) is refused: not solved as the wrong alloy system, not written back."""

from __future__ import annotations

import dataclasses
import logging
import pickle

import pytest

from alloypref.calphad import canonical_build
from alloypref.calphad.cache import load_cached

from ..helpers import NIAL, pycalphad_backend


@pytest.mark.parametrize(
    "tamper",
    [
        {"elements": ("Al", "Fe")},
        {"database": "alfe"},
        {"phases": ["BCC_A2", "LIQUID"]},
    ],
    ids=["elements", "database", "phases"],
)
def test_system_cache_entry_for_another_system_is_refused(tmp_path, monkeypatch, caplog, tamper):
    monkeypatch.setattr(canonical_build, "builds_in_process", lambda: True)  # build here: one process
    cache = tmp_path / "cache"
    built = pycalphad_backend([NIAL], cache, pdens_fine=0).system("nial", ["Al", "Ni"])
    (path,) = (cache / "systems").glob("*.pkl")
    path.write_bytes(pickle.dumps(dataclasses.replace(built, **tamper)))

    with caplog.at_level(logging.WARNING):
        loaded = pycalphad_backend([NIAL], cache, pdens_fine=0).system("nial", ["Al", "Ni"])
    assert (loaded.database, loaded.elements, loaded.phases) == ("nial", ("Al", "Ni"), built.phases)
    assert f"ignoring system cache {path}: it holds the" in caplog.text
    on_disk = load_cached(path, cache)
    assert (on_disk.database, on_disk.elements, on_disk.phases) == ("nial", ("Al", "Ni"), built.phases)
