"""The on-disk CALPHAD cache: who is trusted to have written it, and what a failed write does.

Parsed databases and compiled systems are pickles, and loading a pickle runs whatever code its
author put in it. The trust model is therefore that of a private folder: a pickle is loaded only
when the cache folder, its sub-folder and the file are owned by the current user and writable by
nobody else (no group or world write bit; no symbolic link). Anything else is refused with
:class:`CacheTrustError`, which names the path and the fix; nothing from it is loaded. The folders
are created private (mode 0700) whatever the umask. A cache built by someone else is never used:
share results, or rebuild the cache (it is derived data).

Writing is best effort: a full disk or a read-only folder costs speed, never a result. A failed
write is logged as a warning and the value is used from memory.
"""

from __future__ import annotations

import logging
import os
import pickle
import stat
from pathlib import Path

from alloypref.io import atomic_write_bytes

log = logging.getLogger(__name__)


class CacheTrustError(PermissionError):
    """A cache path that others could have written; the message names it and the fix."""


def _check_private(path: Path, what: str) -> None:
    info = path.lstat()
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif info.st_uid != os.getuid():
        problem = f"is owned by uid {info.st_uid}, not by you (uid {os.getuid()})"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        raise CacheTrustError(
            f"refusing to use the CALPHAD cache: {what} {path} {problem}. Loading a cached pickle runs code, "
            "so the cache must be private: run `chmod -R go-w` on it if it is yours, or point "
            "calphad.cache_dir at a folder of your own (the cache is rebuilt automatically)."
        )


def check_cache_dir(cache_dir: Path | str) -> None:
    """Raise :class:`CacheTrustError` unless ``cache_dir`` (if it exists) is a folder and it and its
    sub-folders are private."""
    root = Path(cache_dir)
    if not root.exists():
        return
    _check_private(root, "folder")
    if not root.is_dir():
        raise CacheTrustError(
            f"refusing to use the CALPHAD cache: {root} is a file, not a folder; point calphad.cache_dir "
            "(or --cache-dir, or $ALLOYPREF_CACHE) at a folder"
        )
    for child in root.iterdir():
        if child.is_dir() or child.is_symlink():
            _check_private(child, "folder")


def load_cached(path: Path, cache_dir: Path) -> object | None:
    """The object pickled at ``path`` inside ``cache_dir``; None when absent or unreadable.

    Raises:
        CacheTrustError: the file, its folder or ``cache_dir`` could have been written by someone else.
    """
    if not path.exists() and not path.is_symlink():
        return None
    for folder in (Path(cache_dir), path.parent):
        _check_private(folder, "folder")
    _check_private(path, "file")
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception as exc:  # a truncated or incompatible pickle is rebuilt, not fatal
        log.warning("ignoring unreadable cache file %s: %s", path, exc)
        return None


def store_cached(path: Path, cache_dir: Path, value: object) -> bool:
    """Pickle ``value`` to ``path`` (atomically); on failure warn and return False, never raise OSError."""
    try:
        _make_private_dirs(Path(cache_dir), path.parent)
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as exc:
        log.warning("could not write cache file %s (%s); continuing without caching it", path, exc)
        return False
    return True


def _make_private_dirs(root: Path, folder: Path) -> None:
    """Create ``root`` and ``folder`` (inside it) with mode 0700: mkdir's mode is masked by the umask."""
    for directory in (root, folder):
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
