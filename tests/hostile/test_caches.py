"""Hostile caches: pickles from a folder others can write are refused before anything is loaded;
a damaged cache is rebuilt; a cache that cannot be written costs speed, never a result."""

import errno
import logging
import os
import pickle
import stat

import pytest

from alloypref.calphad import cache as cache_module
from alloypref.calphad import canonical_build
from alloypref.calphad.cache import CacheTrustError, check_cache_dir, load_cached, store_cached
from alloypref.calphad.databases import load_database
from alloypref.reward import RewardSettings
from alloypref.scoring import ScoringSettings, score_triples

from ..helpers import NIAL, pycalphad_backend, triples

OPTIONS = ScoringSettings((373.15, 1273.15), RewardSettings(), timeout_s=120, isolate=False)


class Exploit:
    """A pickle that, when loaded, creates a marker file (any code could run instead)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def planted_cache(tmp_path, subfolder="databases"):
    """A cache folder with a crafted pickle under the name the database cache would use."""
    cache = tmp_path / "cache"
    load_database(NIAL, cache)  # the real file name
    target = next((cache / "databases").iterdir())
    marker = tmp_path / "exploited"
    folder = cache / subfolder
    folder.mkdir(exist_ok=True)
    path = folder / target.name
    path.write_bytes(pickle.dumps(Exploit(marker)))
    path.chmod(0o600)
    return cache, path, marker


UNSAFE = {
    "group-writable cache folder": lambda cache, path: cache.chmod(0o770),
    "world-writable cache folder": lambda cache, path: cache.chmod(0o777),
    "group-writable sub-folder": lambda cache, path: path.parent.chmod(0o775),
    "group-writable file": lambda cache, path: path.chmod(0o660),
    "symlinked file": lambda cache, path: (
        path.rename(path.with_suffix(".real")),
        path.symlink_to(path.with_suffix(".real")),
    ),
}


@pytest.mark.parametrize("how", list(UNSAFE))
def test_pickle_others_could_write_is_refused_before_loading(tmp_path, how):
    cache, path, marker = planted_cache(tmp_path)
    UNSAFE[how](cache, path)
    with pytest.raises(CacheTrustError, match="refusing to use the CALPHAD cache"):
        load_database(NIAL, cache)
    assert not marker.exists()  # the crafted pickle never ran


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_pickle_owned_by_another_user_is_refused(tmp_path):
    cache, path, marker = planted_cache(tmp_path)
    os.chown(path, 12345, 12345)
    with pytest.raises(CacheTrustError, match="owned by uid 12345"):
        load_database(NIAL, cache)
    assert not marker.exists()


def test_backend_refuses_an_unsafe_cache_folder_at_once(tmp_path):
    cache = tmp_path / "shared"
    (cache / "systems").mkdir(parents=True)
    (cache / "systems").chmod(0o777)
    with pytest.raises(CacheTrustError, match="systems"):
        pycalphad_backend([NIAL], cache)


def test_cache_folders_are_created_private_whatever_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        assert store_cached(tmp_path / "c" / "databases" / "x.pkl", tmp_path / "c", {"x": 1})
    finally:
        os.umask(old)
    for folder in (tmp_path / "c", tmp_path / "c" / "databases"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    check_cache_dir(tmp_path / "c")
    assert load_cached(tmp_path / "c" / "databases" / "x.pkl", tmp_path / "c") == {"x": 1}


@pytest.mark.parametrize(
    "content",
    [b"", b"\x80\x05truncated", pickle.dumps({"not": "a database"})],
    ids=["empty", "truncated", "wrong type"],
)
def test_damaged_database_cache_is_rebuilt(tmp_path, content, caplog):
    cache = tmp_path / "cache"
    load_database(NIAL, cache)
    path = next((cache / "databases").iterdir())
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        dbf = load_database(NIAL, cache)
    assert "BCC_B2" in dbf.phases
    assert "ignoring" in caplog.text


def test_full_disk_degrades_to_computing_without_the_cache(tmp_path, monkeypatch, caplog):
    """A cache write failure used to turn a computable candidate into a failed row."""

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(cache_module, "atomic_write_bytes", disk_full)
    # compile in this process (as under PYTHONHASHSEED=0), where the full disk is simulated
    monkeypatch.setattr(canonical_build, "builds_in_process", lambda: True)
    backend = pycalphad_backend([NIAL], tmp_path / "cache", pdens_fine=0)
    with caplog.at_level(logging.WARNING):
        rewards, tables = score_triples(triples([("c", "Ni", "NiAl", 60.0)]), backend, OPTIONS)
    assert rewards.loc[0, "status"] == "ok", rewards.loc[0, "reason"]
    assert not tables.empty
    assert caplog.text.count("No space left on device") == 2  # the database and the compiled system
    assert not list((tmp_path / "cache").rglob("*.pkl"))
