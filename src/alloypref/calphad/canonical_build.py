"""Compiled systems built under hash seed 0, in a child interpreter where this one runs under another.

pycalphad builds its symbolic models by iterating Python sets of species, whose order follows the
hash seed; the compiled energy functions then differ in the last bits, and on a near-degenerate
candidate the solver amplifies that into a different equilibrium. So every callback is compiled in
one canonical interpreter (this one when it already runs with hash seed 0, else a child process) and
loaded from the pickle: the answer no longer depends on the seed of the process that scores.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.cache import load_cached, store_cached
from alloypref.calphad.compiled_system import CompiledSystem, build_system
from alloypref.calphad.databases import DatabaseSettings, load_database

log = logging.getLogger(__name__)

#: What the child interpreter runs (it reads its request from stdin).
CHILD_ENTRY = "from alloypref.calphad.canonical_build import child_main; child_main()"


def builds_in_process() -> bool:
    """True when this interpreter already runs with hash seed 0, so systems are compiled here."""
    return sys.flags.hash_randomization == 0


def build_with_fixed_hash_seed(
    dbf,
    spec: DatabaseSettings,
    cache_dir: Path | None,
    elements: tuple[str, ...],
    phases: list[str],
    pressure_Pa: float,
    path: Path | None,
    extra: Sequence = (),
) -> CompiledSystem:
    """Build (and write to ``path``) a compiled system in an interpreter with PYTHONHASHSEED=0.

    ``dbf``: the loaded database of ``spec`` (used when this interpreter builds); ``pressure_Pa``:
    pressure (Pa); ``extra``: further functions to compile (memo keys).
    """
    if builds_in_process():  # PYTHONHASHSEED=0 here already: build in-process
        compiled = build_system(dbf, spec.name, elements, phases, pressure_Pa, extra)
        if path is not None:
            store_cached(path, cache_dir, compiled)  # a failed write only costs speed
        return compiled
    with tempfile.TemporaryDirectory(prefix="alloypref-system-") as scratch:
        target = path if path is not None else Path(scratch) / "system.pkl"
        request = {
            "spec": spec,
            "cache_dir": cache_dir,
            "elements": elements,
            "phases": phases,
            "pressure_Pa": pressure_Pa,
            "extra": list(extra),
            "out": target,
            "out_root": cache_dir if path is not None else Path(scratch),
            "scratch": Path(scratch),
        }
        _run_child(request, f"the {spec.name} system {'-'.join(elements)}")
        if path is not None:
            compiled = load_cached(path, cache_dir)
            if compiled is not None:
                return compiled
            if target.exists():  # written but not readable back: the cache is not usable
                raise CalphadError(f"the {spec.name} system {'-'.join(elements)} could not be read back from {path}")
        # no cache folder, or the child could not write to it: it wrote a private scratch copy
        return load_cached(Path(scratch) / "system.pkl", Path(scratch))


def _run_child(request: dict, what: str) -> None:
    """Run the hash-seed-0 builder on ``request``; its failure is a :class:`CalphadError`, its warnings are logged."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD_ENTRY],
        input=pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL),
        env=env,
        capture_output=True,
    )
    messages = child.stderr.decode(errors="replace").strip().splitlines()
    if child.returncode != 0:
        raise CalphadError(f"building {what} failed: {' | '.join(messages[-5:])}")
    for message in messages:  # the child's warnings (a cache it could not write) reach this log
        log.warning("building %s: %s", what, message)


def child_main() -> None:
    """Entry of the child interpreter of :func:`build_with_fixed_hash_seed`."""
    request = pickle.loads(sys.stdin.buffer.read())
    dbf = load_database(request["spec"], request["cache_dir"])
    compiled = build_system(
        dbf, request["spec"].name, request["elements"], request["phases"], request["pressure_Pa"], request["extra"]
    )
    if not store_cached(request["out"], request["out_root"], compiled):  # cache disk full or read-only
        store_cached(request["scratch"] / "system.pkl", request["scratch"], compiled)
