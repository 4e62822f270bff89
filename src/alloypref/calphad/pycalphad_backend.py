"""The default CALPHAD backend: pycalphad on open TDB databases, with compiled systems cached.

``equilibrium()`` recompiles every Gibbs-energy function on each call unless models and phase
records are passed in. Here they are built once per (database, element set)
(:mod:`alloypref.calphad.compiled_system`), kept in a bounded in-memory LRU (a compiled 8-element
system holds ~5 GB) and pickled on disk, so a later process loads them in well under a second.
Every function is compiled at build time; one a solve compiles later is written back
(:meth:`PycalphadBackend.persist_new_callbacks`), so a process that loads a system compiles nothing.
The sampled energy grid of a system (:mod:`alloypref.calphad.grid`) depends on the temperatures but
not on the composition, so it too is computed once per system and process and reused by every
candidate; grids are not written to disk (tens of MB per system, for thousands of element sets at
the paper's scale, against seconds to sample once per set and run).

Two pycalphad pitfalls are handled:

* disappearing BCC: :func:`alloypref.calphad.databases.apply_bcc_fix` at load time;
* missed ordering: every temperature is solved again with the orderable BCC phases sampled at a
  finer point density (``pdens_fine``) and the lower Gibbs energy is kept.

The answer does not depend on Python's hash seed: every callback is compiled in one interpreter
with PYTHONHASHSEED=0 (see :mod:`alloypref.calphad.canonical_build`), and answers that end above
the sampled grid's hull are replaced by solves from other starts (see
:mod:`alloypref.calphad.equilibria` and ``phase_table``).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from pycalphad.core.utils import filter_phases, unpack_species

from alloypref import progress
from alloypref.calphad import canonical_build
from alloypref.calphad.backend import CalphadError
from alloypref.calphad.cache import check_cache_dir, load_cached, store_cached
from alloypref.calphad.compiled_system import (
    SYSTEM_FORMAT,
    CompiledSystem,
    library_versions,
    orderable_phases,
    system_cache_key,
    system_mismatch,
)
from alloypref.calphad.databases import (
    DATABASE_FIX_VERSION,
    B2Formers,
    DatabaseSettings,
    PairCoverage,
    choose_database,
    composition_fractions,
    coverage_score,
    database_elements,
    load_database,
    pair_coverage,
)
from alloypref.calphad.equilibria import SystemSolver
from alloypref.calphad.phase_records import (
    PicklablePhaseRecordFactory,  # noqa: F401  (pickles written before the split name it here)
    compiled_keys,
)
from alloypref.calphad.phase_rows import answers_table
from alloypref.calphad.pycalphad_settings import PycalphadSettings
from alloypref.calphad.trust import TrustedChoice, TrustEvidence, rank_databases

log = logging.getLogger(__name__)


class PycalphadBackend:
    """Phase tables from pycalphad; one instance per process, shared by every candidate it scores."""

    name = "pycalphad"

    def __init__(
        self,
        databases: Sequence[DatabaseSettings],
        settings: PycalphadSettings | None = None,
        cache_dir: Path | str | None = None,
        b2_formers: B2Formers | None = None,
    ):
        if not databases:
            raise ValueError("at least one database must be configured")
        self.specs = {spec.name: spec for spec in databases}
        self.settings = settings or PycalphadSettings()
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir is not None:
            check_cache_dir(self.cache_dir)  # refuse a cache others can write before loading anything
        self.b2_formers = b2_formers or B2Formers()
        self._databases: dict[str, object] = {}
        self._coverages: dict[str, PairCoverage] = {}
        self._systems: OrderedDict[tuple, CompiledSystem] = OrderedDict()
        # (database, elements) -> (disk-cache path, phases, compiled functions the disk copy holds)
        self._persisted: dict[tuple, tuple[Path | None, list[str], frozenset]] = {}

    def fingerprint(self) -> dict:
        """What this backend's answers depend on (scoring checkpoints are keyed by it)."""
        return {
            "backend": self.name,
            "versions": library_versions(),
            "fix": DATABASE_FIX_VERSION,
            "format": SYSTEM_FORMAT,
            "settings": asdict(self.settings),
            "b2_formers": {k: sorted(v) for k, v in asdict(self.b2_formers).items()},
            "databases": [
                {"name": s.name, "hash": s.content_hash, "roles": dict(s.phase_roles), "strip_refs": s.strip_refs}
                for s in self.specs.values()
            ],
        }

    # -- databases -------------------------------------------------------------------------
    def database(self, name: str):
        if name not in self._databases:
            if name not in self.specs:
                raise KeyError(f"database {name!r} is not configured (configured: {list(self.specs)})")
            self._databases[name] = load_database(self.specs[name], self.cache_dir)
        return self._databases[name]

    def coverage(self, name: str) -> PairCoverage:
        if name not in self._coverages:
            self._coverages[name] = pair_coverage(self.database(name), self.specs[name])
        return self._coverages[name]

    def elements(self) -> set[str]:
        return set().union(*(database_elements(self.database(name)) for name in self.specs))

    def choose_database(self, composition: Mapping[str, float] | Iterable[str]) -> tuple[str | None, float]:
        return choose_database(composition, {name: self.coverage(name) for name in self.specs}, self.b2_formers)

    def database_choices(
        self, composition: Mapping[str, float], trust_evidence: TrustEvidence | None = None
    ) -> list[TrustedChoice]:
        fractions = composition_fractions(composition)
        holders = [
            (name, coverage_score(fractions, self.coverage(name), self.b2_formers))
            for name in self.specs
            if set(fractions) <= self.coverage(name).elements
        ]
        return rank_databases(trust_evidence, fractions, holders)

    # -- compiled systems ------------------------------------------------------------------
    def system(self, database: str, elements: Iterable[str]) -> CompiledSystem:
        """The compiled system for ``elements`` on ``database``: from memory, disk, or built now."""
        elements = tuple(sorted({e.capitalize() for e in elements}))
        memory_key = (database, elements)
        if memory_key in self._systems:
            self._systems.move_to_end(memory_key)
            return self._systems[memory_key]

        dbf = self.database(database)
        missing = set(elements) - database_elements(dbf)
        if missing:
            raise CalphadError(f"database {database} lacks elements {sorted(missing)}")
        components = [e.upper() for e in elements] + ["VA"]
        phases = sorted(filter_phases(dbf, unpack_species(dbf, components)))
        key = system_cache_key(self.specs[database], elements, phases, self.settings.pdens, self.settings.pdens_fine)
        path = self.cache_dir / "systems" / f"{key}.pkl" if self.cache_dir else None
        compiled = load_cached(path, self.cache_dir) if path is not None else None
        if compiled is not None and not isinstance(compiled, CompiledSystem):
            log.warning("ignoring system cache %s: it holds a %s", path, type(compiled).__name__)
            compiled = None
        if compiled is not None and (mismatch := system_mismatch(compiled, database, elements, phases)):
            # never used, never written back: the rebuild below replaces the file
            log.warning("ignoring system cache %s: %s", path, mismatch)
            compiled = None
        if compiled is None:  # tens of seconds to minutes: say so, where a caller waits on it
            started = time.monotonic()
            progress.log.info(
                "compiling %s on %s (once: later uses load it from the cache)", "-".join(elements), database
            )
            compiled = self._build_canonical(database, elements, phases, path)
            elapsed = progress.format_duration(time.monotonic() - started)
            progress.log.info("compiled %s on %s in %s", "-".join(elements), database, elapsed)
        self._systems[memory_key] = compiled
        self._persisted[memory_key] = (path, phases, compiled_keys(compiled.phase_records))
        while len(self._systems) > max(1, self.settings.max_systems_in_memory):
            self._systems.popitem(last=False)
        return compiled

    def persist_new_callbacks(self, system: CompiledSystem) -> frozenset:
        """Write functions compiled during solves back to the disk cache; the new keys (usually none).

        :func:`~alloypref.calphad.compiled_system.build_system` compiles what the solver is known to
        request, but a pycalphad code path it does not foresee compiles lazily in the scoring
        process, and a later process would compile the same again. Such functions are compiled
        again with the system in the hash-seed-0 builder (the canonical callbacks, so answers stay
        independent of the seed) and the cache file is replaced; this process takes the canonical
        models and phase records and keeps its sampled grids. Each occurrence is logged: it means
        :data:`~alloypref.calphad.compiled_system.PRECOMPILED_PROPERTIES` misses one.
        """
        memory_key = (system.database, system.elements)
        path, phases, stored = self._persisted.get(memory_key, (None, system.phases, frozenset()))
        new = compiled_keys(system.phase_records) - stored
        if not new:
            return frozenset()
        log.warning(
            "the %s system %s compiled %d function(s) while solving (e.g. %s); writing them to the disk cache",
            system.database,
            "-".join(system.elements),
            len(new),
            sorted(map(str, new))[0],
        )
        if path is not None:
            if (
                canonical_build.builds_in_process()
            ):  # compiled under hash seed 0 already: the copy in memory is canonical
                store_cached(path, self.cache_dir, system)
            else:
                rebuilt = self._build_canonical(system.database, system.elements, phases, path, extra=sorted(new))
                system.models, system.phase_records = rebuilt.models, rebuilt.phase_records
        self._persisted[memory_key] = (path, phases, compiled_keys(system.phase_records))
        return frozenset(new)

    def _build_canonical(
        self, database: str, elements: tuple[str, ...], phases: list[str], path: Path | None, extra: Sequence = ()
    ) -> CompiledSystem:
        """The system compiled under hash seed 0 (see :mod:`alloypref.calphad.canonical_build`)."""
        return canonical_build.build_with_fixed_hash_seed(
            self.database(database),
            self.specs[database],
            self.cache_dir,
            elements,
            phases,
            self.settings.pressure_Pa,
            path,
            extra,
        )

    # -- equilibria ------------------------------------------------------------------------
    def phase_table(
        self, composition: Mapping[str, float], temperatures_K: Sequence[float], database: str
    ) -> pd.DataFrame:
        """Fig. 9 table at every temperature.

        All temperatures are solved at once on the coarse grid and, where the system has an
        orderable BCC phase, again on a grid that is fine for those phases only; per temperature the
        fine answer is kept where its Gibbs energy is lower by more than
        ``fine_grid_min_gain_J_per_mol`` (or where the coarse answer is not sound).

        An answer is *sound* when it converged and its molar Gibbs energy is not above the grid's
        lower convex hull at that composition (the starting point, a feasible state) by more than
        ``HULL_TOLERANCE_J_PER_MOL``: a solve that ends above it has walked away from the minimum.
        On near-degenerate candidates the solver's path is chaotic, so where neither grid gives a
        sound answer the candidate is solved again from other starts — compositions nudged by
        1e-6 to 1e-5 in one element (below the scorer's 1e-4 resolution), in a fixed order, first
        sound answer kept — and last by ``pycalphad.equilibrium`` at its default point density.
        """
        composition = {e.capitalize(): float(x) for e, x in composition.items() if x > 0}
        system = self.system(database, composition)
        temperatures = tuple(sorted({float(t) for t in temperatures_K}))
        spec = self.specs[database]
        solver = SystemSolver(self.database(database), system, self.settings, orderable_phases(system, spec))
        try:
            answers = solver.sound_answers(composition, temperatures)
        except Exception as exc:
            raise CalphadError(f"pycalphad failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.persist_new_callbacks(system)  # even a failed solve may have compiled something
        return answers_table(system, spec, self.settings.order_threshold, temperatures, answers)
