"""The default CALPHAD backend: pycalphad on open TDB databases, with compiled systems cached.

``equilibrium()`` recompiles every Gibbs-energy function on each call unless models and phase
records are passed in. Here they are built once per (database, element set), kept in a bounded
in-memory LRU (a compiled 8-element system holds ~5 GB) and pickled on disk, so a later process
loads them in well under a second. Every function is compiled at build time; one a solve compiles
later is written back (:meth:`PycalphadBackend.persist_new_callbacks`), so a process that loads a
system compiles nothing. The sampled energy grid of a system depends on the temperatures but not on
the composition, so it too is computed once per system and process and reused by every candidate;
grids are not written to disk (tens of MB per system, for thousands of element sets at the paper's
scale, against seconds to sample once per set and run).

Two pycalphad pitfalls are handled:

* disappearing BCC: :func:`alloypref.calphad.databases.apply_bcc_fix` at load time;
* missed ordering: every temperature is solved again with the orderable BCC phases sampled at a
  finer point density (``pdens_fine``) and the lower Gibbs energy is kept.

The answer does not depend on Python's hash seed: every callback is compiled in one interpreter
with PYTHONHASHSEED=0 (see :meth:`PycalphadBackend._build_with_fixed_hash_seed`), and answers that
end above the sampled grid's hull are replaced by solves from other starts (see ``phase_table``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pycalphad
import symengine
from pycalphad import calculate, equilibrium
from pycalphad import variables as v
from pycalphad.codegen.phase_record_factory import PhaseRecordFactory
from pycalphad.core.eqsolver import _solve_eq_at_conditions
from pycalphad.core.starting_point import starting_point
from pycalphad.core.utils import filter_phases, instantiate_models, unpack_species

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.cache import check_cache_dir, load_cached, store_cached
from alloypref.calphad.confidence import DEFAULT_UNTESTED_WEIGHT, DatabaseChoice, PairTrust, rank_databases
from alloypref.calphad.databases import (
    DATABASE_FIX_VERSION,
    B2Formers,
    DatabaseSpec,
    PairCoverage,
    choose_database,
    database_elements,
    load_database,
    pair_coverage,
)
from alloypref.calphad.lattice import disordered_lattice_parameter, lattice_parameter
from alloypref.calphad.ordering import DEFAULT_ORDER_THRESHOLD, has_b2_sublattices, is_ordered, order_parameter
from alloypref.calphad.tables import PhaseRole, Structure, phase_table

log = logging.getLogger(__name__)

#: Bump when :class:`CompiledSystem` or :class:`PicklablePhaseRecordFactory` changes shape: part of
#: the disk-cache key, so old pickles are never loaded into new code.
SYSTEM_FORMAT = 3

#: A solve whose molar Gibbs energy ends above the sampled grid's lower convex hull at the same
#: composition (a feasible mixture of sampled states, so an upper bound of the true minimum) by more
#: than this (J/mol) has walked away from the minimum and is not used; 1 J/mol only absorbs rounding.
HULL_TOLERANCE_J_PER_MOL = 1.0

#: Composition nudges (mole fraction moved from the last element to one other) tried, in this
#: order, where no grid gives a sound answer; all below the scorer's 1e-4 composition resolution.
NUDGES = (-1e-6, 1e-6, -1e-5, 1e-5)


@dataclass(frozen=True)
class PycalphadSettings:
    """Solver settings.

    Attributes:
        pdens: points per degree of freedom of the global-minimisation grid (pycalphad default 60;
            10-20 gave the same phase sets on the cases compared, at a fraction of the cost).
        pdens_fine: point density of the orderable BCC phases in a second solve (the other phases
            keep ``pdens``), to catch ordered states the coarse grid misses; 0 disables it.
        fine_grid_min_gain_J_per_mol: the fine-grid answer replaces the coarse one only when its
            molar Gibbs energy is lower by more than this (J/mol). On mc_ni the missed ordered state
            of the paper's Ti33Mo67 + AlVFe example is 480-660 J/mol lower at 1523-1673 K; on COST507
            the fine grid turns the Cr-rich set of the Fig. 9 example at 373 K into a partially
            ordered one (max|y'-y''| = 0.41) only 4 J/mol lower, an artefact of pycalphad extending
            the ordered model to unassessed pairs (Thermo-Calc: disordered). 50 J/mol sits between;
            differences of a few J/mol are far below any assessment's accuracy.
        pressure_Pa: pressure (Pa).
        order_threshold: max |y' - y''| above which a BCC composition set counts as ordered B2
            (see :mod:`alloypref.calphad.ordering`); the authors' 0.05 by default. Real B2 sets
            show 0.3-1.0 and disordered ones ~0, so values from 0.05 to 0.1 classify alike.
        max_systems_in_memory: compiled systems kept in memory (LRU).
    """

    pdens: int = 20
    pdens_fine: int = 150
    pressure_Pa: float = 101325.0
    order_threshold: float = DEFAULT_ORDER_THRESHOLD
    fine_grid_min_gain_J_per_mol: float = 50.0
    max_systems_in_memory: int = 2


class PicklablePhaseRecordFactory(PhaseRecordFactory):
    """A ``PhaseRecordFactory`` whose compiled functions live on the instance, so they pickle.

    pycalphad memoises compiled callbacks with ``functools.lru_cache`` on the class, which a pickle
    of the instance does not carry. ``PhaseRecord`` objects refer back to their factory and are
    rebuilt cheaply from the memoised functions, so they are left out of the pickle.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo = {}

    def _memoised(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_memo"] = {k: v for k, v in self._memo.items() if k[0] != "record"}
        return state

    def get_phase_constraints(self, phase_name):
        return self._memoised(
            ("constraints", phase_name), lambda: PhaseRecordFactory.get_phase_constraints.__wrapped__(self, phase_name)
        )

    def get_phase_formula_moles_element(self, phase_name, element_name, per_formula_unit=True):
        return self._memoised(
            ("moles", phase_name, element_name, per_formula_unit),
            lambda: PhaseRecordFactory.get_phase_formula_moles_element.__wrapped__(
                self, phase_name, element_name, per_formula_unit
            ),
        )

    def get_phase_property(self, phase_name, property_name, include_grad=True, include_hess=True):
        return self._memoised(
            ("property", phase_name, property_name, include_grad, include_hess),
            lambda: PhaseRecordFactory.get_phase_property.__wrapped__(
                self, phase_name, property_name, include_grad, include_hess
            ),
        )

    def get(self, phase_name):
        return self._memoised(("record", phase_name), lambda: PhaseRecordFactory.get.__wrapped__(self, phase_name))


@dataclass
class CompiledSystem:
    """Models and phase records of one database and element set."""

    database: str
    elements: tuple[str, ...]  # capitalised, sorted
    components: list[str]  # pycalphad names, with VA
    phases: list[str]
    models: dict
    phase_records: object
    site_fraction_layout: dict[str, list[list[str]]] = field(default_factory=dict)
    grids: dict = field(default_factory=dict)  # (temperatures, "coarse"/"fine") -> sampled grid

    def __getstate__(self):
        state = dict(self.__dict__)
        state["grids"] = {}  # large and cheap to rebuild; never pickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.grids = {}


def _versions() -> str:
    return f"pycalphad{pycalphad.__version__}-symengine{symengine.__version__}"


class PycalphadBackend:
    """Phase tables from pycalphad; one instance per process, shared by every candidate it scores."""

    name = "pycalphad"

    def __init__(
        self,
        databases: Sequence[DatabaseSpec],
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
            "versions": _versions(),
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
        self,
        composition: Mapping[str, float] | Iterable[str],
        trust: PairTrust | None = None,
        untested_weight: float = DEFAULT_UNTESTED_WEIGHT,
    ) -> list[DatabaseChoice]:
        coverages = {name: self.coverage(name) for name in self.specs}
        return rank_databases(composition, coverages, self.b2_formers, trust, untested_weight)

    # -- compiled systems ------------------------------------------------------------------
    def _system_key(self, database: str, elements: tuple[str, ...], phases: list[str]) -> str:
        spec = self.specs[database]
        phase_hash = hashlib.sha256(",".join(phases).encode()).hexdigest()[:12]
        s = self.settings
        return (
            f"{database}-{spec.content_hash}-{'-'.join(elements)}-ph{phase_hash}-{DATABASE_FIX_VERSION}-sys{SYSTEM_FORMAT}-"
            f"{_versions()}-pdens{s.pdens}-{s.pdens_fine}"
        )

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
        key = self._system_key(database, elements, phases)
        path = self.cache_dir / "systems" / f"{key}.pkl" if self.cache_dir else None
        compiled = load_cached(path, self.cache_dir) if path is not None else None
        if compiled is not None and not isinstance(compiled, CompiledSystem):
            log.warning("ignoring system cache %s: it holds a %s", path, type(compiled).__name__)
            compiled = None
        if compiled is None:
            compiled = self._build_with_fixed_hash_seed(database, elements, phases, path)
        self._systems[memory_key] = compiled
        self._persisted[memory_key] = (path, phases, compiled_keys(compiled.phase_records))
        while len(self._systems) > max(1, self.settings.max_systems_in_memory):
            self._systems.popitem(last=False)
        return compiled

    def persist_new_callbacks(self, system: CompiledSystem) -> frozenset:
        """Write functions compiled during solves back to the disk cache; the new keys (usually none).

        :func:`build_system` compiles what the solver is known to request, but a pycalphad code
        path it does not foresee compiles lazily in the scoring process, and a later process would
        compile the same again. Such functions are compiled again with the system in the hash-seed-0
        builder (the canonical callbacks, so answers stay independent of the seed) and the cache
        file is replaced; this process takes the canonical models and phase records and keeps its
        sampled grids. Each occurrence is logged: it means :data:`PRECOMPILED_PROPERTIES` misses one.
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
            if builds_in_process():  # compiled under hash seed 0 already: the copy in memory is canonical
                store_cached(path, self.cache_dir, system)
            else:
                rebuilt = self._build_with_fixed_hash_seed(
                    system.database, system.elements, phases, path, extra=sorted(new)
                )
                system.models, system.phase_records = rebuilt.models, rebuilt.phase_records
        self._persisted[memory_key] = (path, phases, compiled_keys(system.phase_records))
        return frozenset(new)

    def _build_with_fixed_hash_seed(
        self, database: str, elements: tuple[str, ...], phases: list[str], path: Path | None, extra: Sequence = ()
    ) -> CompiledSystem:
        """Build (and write to ``path``) a compiled system in an interpreter with PYTHONHASHSEED=0.

        pycalphad builds its symbolic models by iterating Python sets of species, whose order
        follows the hash seed; the compiled energy functions then differ in the last bits, and on a
        near-degenerate candidate the solver amplifies that into a different equilibrium. So every
        callback is compiled in one canonical interpreter (this one when it already runs with hash
        seed 0, else a child process) and loaded from the pickle: the answer no longer depends on
        the seed of the process that scores. ``extra``: further functions to compile (memo keys).
        """
        if builds_in_process():  # PYTHONHASHSEED=0 here already: build in-process
            compiled = build_system(
                self.database(database), database, elements, phases, self.settings.pressure_Pa, extra
            )
            if path is not None:
                store_cached(path, self.cache_dir, compiled)  # a failed write only costs speed
            return compiled
        with tempfile.TemporaryDirectory(prefix="alloypref-system-") as scratch:
            target = path if path is not None else Path(scratch) / "system.pkl"
            request = {
                "spec": self.specs[database],
                "cache_dir": self.cache_dir,
                "elements": elements,
                "phases": phases,
                "pressure_Pa": self.settings.pressure_Pa,
                "extra": list(extra),
                "out": target,
                "out_root": self.cache_dir if path is not None else Path(scratch),
                "scratch": Path(scratch),
            }
            env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            child = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from alloypref.calphad.pycalphad_backend import _build_system_main; _build_system_main()",
                ],
                input=pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL),
                env=env,
                capture_output=True,
            )
            messages = child.stderr.decode(errors="replace").strip().splitlines()
            if child.returncode != 0:
                raise CalphadError(
                    f"building the {database} system {'-'.join(elements)} failed: {' | '.join(messages[-5:])}"
                )
            for message in messages:  # the child's warnings (a cache it could not write) reach this log
                log.warning("building the %s system %s: %s", database, "-".join(elements), message)
            if path is not None:
                compiled = load_cached(path, self.cache_dir)
                if compiled is not None:
                    return compiled
                if target.exists():  # written but not readable back: the cache is not usable
                    raise CalphadError(f"the {database} system {'-'.join(elements)} could not be read back from {path}")
            # no cache folder, or the child could not write to it: it wrote a private scratch copy
            return load_cached(Path(scratch) / "system.pkl", Path(scratch))

    # -- equilibria ------------------------------------------------------------------------
    def orderable_phases(self, system: CompiledSystem) -> list[str]:
        """``bcc_like`` phases with two equal leading sublattices: where ordering can be missed."""
        spec = self.specs[system.database]
        return [
            name
            for name in system.phases
            if spec.role(name) == PhaseRole.BCC_LIKE and has_b2_sublattices(system.models[name].site_ratios)
        ]

    def _grid(self, system: CompiledSystem, temperatures: tuple[float, ...], kind: str):
        """The sampled energy surface of every phase at every temperature (composition-free).

        It depends only on the system, the temperatures and the point densities, so it is computed
        once per system and temperature grid and reused for every candidate of that element set:
        this is where most of a plain ``equilibrium()`` call's time goes.
        """
        key = (temperatures, kind)
        if key not in system.grids:
            pdens: int | dict[str, int] = self.settings.pdens
            if kind == "fine":
                pdens = {name: self.settings.pdens for name in system.phases}
                pdens.update({name: self.settings.pdens_fine for name in self.orderable_phases(system)})
            system.grids[key] = _share_points_across_temperatures(
                calculate(
                    self.database(system.database),
                    system.components,
                    system.phases,
                    model=system.models,
                    phase_records=system.phase_records,
                    fake_points=True,
                    output="GM",
                    to_xarray=False,
                    T=list(temperatures),
                    P=self.settings.pressure_Pa,
                    N=1.0,
                    pdens=pdens,
                )
            )
        return system.grids[key]

    def _solve(
        self, system: CompiledSystem, composition: Mapping[str, float], temperatures: tuple[float, ...], kind: str
    ):
        """Equilibria at every temperature at once, from a cached grid.

        This is what ``pycalphad.core.workspace.Workspace.recompute`` does (pycalphad 0.11.2),
        with the grid taken from the cache instead of recomputed for every call.
        """
        grid = self._grid(system, temperatures, kind)
        conditions = OrderedDict(
            [
                (v.N, np.array([1.0])),
                (v.P, np.array([self.settings.pressure_Pa])),
                (v.T, np.asarray(temperatures, dtype=float)),
            ]
        )
        # One element is dependent; its fraction is 1 - the others.
        for element in system.elements[:-1]:
            conditions[v.X(element.upper())] = np.array([float(composition.get(element, 0.0))])
        factory = system.phase_records
        start = starting_point(conditions, factory.state_variables, factory, grid)
        hull_gibbs = np.array(start.GM, dtype=float).reshape(len(temperatures))  # the solve overwrites start
        result = _solve_eq_at_conditions(start, factory, grid, list(conditions), factory.state_variables, False)
        return result, hull_gibbs

    def _checked_solve(
        self, system: CompiledSystem, composition: Mapping[str, float], temperatures: tuple[float, ...], kind: str
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-temperature arrays of one solve (with the hull energy as ``hull``) and which are sound."""
        result, hull = self._solve(system, composition, temperatures, kind)
        arrays = self._per_temperature(result, len(temperatures))
        arrays["hull"] = hull
        gibbs = arrays["GM"]
        sound = np.isfinite(gibbs) & (gibbs <= hull + HULL_TOLERANCE_J_PER_MOL)
        return arrays, sound

    def _equilibrium(self, system: CompiledSystem, composition: Mapping[str, float], temperature: float):
        """One temperature through ``pycalphad.equilibrium`` (pdens 60), for points the cached grids miss."""
        conditions = {v.N: 1.0, v.P: self.settings.pressure_Pa, v.T: float(temperature)}
        for element in system.elements[:-1]:
            conditions[v.X(element.upper())] = float(composition.get(element, 0.0))
        result = equilibrium(
            self.database(system.database),
            system.components,
            system.phases,
            conditions,
            model=system.models,
            phase_records=system.phase_records,
            calc_opts={"pdens": 60},
            to_xarray=False,
        )
        return result

    def _rows(
        self,
        system: CompiledSystem,
        temperature: float,
        names: np.ndarray,
        amounts: np.ndarray,
        site_fractions: np.ndarray,
        compositions: np.ndarray,
        components: list[str],
    ) -> list[dict]:
        """Phase-table rows of one solved temperature."""
        spec = self.specs[system.database]
        rows: list[dict] = []
        counts: dict[str, int] = {}
        for vertex, raw_name in enumerate(names):
            name = str(raw_name)
            if not name or not np.isfinite(amounts[vertex]):
                continue
            counts[name] = counts.get(name, 0) + 1
            row = {
                "temperature_K": float(temperature),
                "phase": f"{name}#{counts[name]}",
                "mole_fraction": float(amounts[vertex]),
                "is_ordered": False,
                "order_parameter": float("nan"),
                "lattice_parameter_A": float("nan"),
                "status": "ok",
            }
            role = spec.role(name)
            if role in (PhaseRole.BCC_LIKE, PhaseRole.B2):
                layout = system.site_fraction_layout[name]
                sublattices = self._sublattice_fractions(layout, site_fractions[vertex])
                orderable = len(sublattices) >= 2 and has_b2_sublattices(system.models[name].site_ratios)
                if orderable:
                    first, second = sublattices[0], sublattices[1]
                    row["order_parameter"] = order_parameter(first, second)
                    row["lattice_parameter_A"] = lattice_parameter(_elements_only(first), _elements_only(second))
                else:
                    fractions = {
                        c.capitalize(): float(x)
                        for c, x in zip(components, compositions[vertex])
                        if c != "VA" and np.isfinite(x) and x > 0
                    }
                    row["lattice_parameter_A"] = disordered_lattice_parameter(fractions)
                ordered = role == PhaseRole.B2 or (
                    orderable and is_ordered(row["order_parameter"], self.settings.order_threshold)
                )
                row["is_ordered"] = bool(ordered)
                row["structure"] = Structure.B2 if ordered else Structure.BCC
            elif role == PhaseRole.LIQUID:
                row["structure"] = Structure.LIQUID
            else:
                row["structure"] = Structure.OTHER
            rows.append(row)
        return rows

    @staticmethod
    def _sublattice_fractions(layout: list[list[str]], values: np.ndarray) -> list[dict[str, float]]:
        out, index = [], 0
        for species in layout:
            out.append({s: float(values[index + k]) for k, s in enumerate(species)})
            index += len(species)
        return out

    @staticmethod
    def _per_temperature(result, n_temperatures: int) -> dict[str, np.ndarray]:
        """Result arrays reshaped to (temperature, vertex[, ...]); every other condition is single."""
        phases = np.asarray(result.Phase)
        n_vertex = phases.shape[-1]
        return {
            "Phase": phases.reshape(n_temperatures, n_vertex),
            "NP": np.asarray(result.NP, dtype=float).reshape(n_temperatures, n_vertex),
            "Y": np.asarray(result.Y, dtype=float).reshape(n_temperatures, n_vertex, -1),
            "X": np.asarray(result.X, dtype=float).reshape(n_temperatures, n_vertex, -1),
            "GM": np.asarray(result.GM, dtype=float).reshape(n_temperatures),
        }

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
        n = len(temperatures)
        kinds = ["coarse"] + (["fine"] if self.settings.pdens_fine and self.orderable_phases(system) else [])
        try:
            solved = {kind: self._checked_solve(system, composition, temperatures, kind) for kind in kinds}
            coarse, coarse_sound = solved["coarse"]
            hull = coarse["hull"]
            chosen: dict[int, tuple[dict, int] | None] = {
                index: (coarse, index) if coarse_sound[index] else None for index in range(n)
            }  # (arrays, row in them)
            # The fine pass solves every temperature at once: slicing the cached grid to the
            # temperatures that need it copies more memory than solving them all costs.
            if "fine" in solved:
                fine, fine_sound = solved["fine"]
                gain = self.settings.fine_grid_min_gain_J_per_mol
                for index in range(n):
                    if fine_sound[index] and (chosen[index] is None or fine["GM"][index] < coarse["GM"][index] - gain):
                        chosen[index] = (fine, index)
            for nudged in _nudged_compositions(composition, system.elements):
                missing = [index for index in range(n) if chosen[index] is None]
                if not missing:
                    break
                for kind in kinds:
                    arrays, sound = self._checked_solve(system, nudged, temperatures, kind)
                    for index in missing:
                        if chosen[index] is None and sound[index]:
                            chosen[index] = (arrays, index)
            # Last resort: pycalphad's own equilibrium() at its default point density (slower, but
            # starts from a different grid).
            for index in range(n):
                if chosen[index] is None:
                    retry = self._per_temperature(self._equilibrium(system, composition, temperatures[index]), 1)
                    gibbs = retry["GM"][0]
                    chosen[index] = (
                        (retry, 0) if np.isfinite(gibbs) and gibbs <= hull[index] + HULL_TOLERANCE_J_PER_MOL else None
                    )
        except Exception as exc:
            raise CalphadError(f"pycalphad failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.persist_new_callbacks(system)  # even a failed solve may have compiled something
        components = list(system.phase_records.nonvacant_elements)
        rows: list[dict] = []
        for index, temperature in enumerate(temperatures):
            if chosen[index] is None:
                raise CalphadError(f"no converged equilibrium at {temperature:.2f} K", phase_table(rows))
            arrays, row = chosen[index]
            step = self._rows(
                system,
                temperature,
                arrays["Phase"][row],
                arrays["NP"][row],
                arrays["Y"][row],
                arrays["X"][row],
                components,
            )
            if not np.isfinite(arrays["GM"][row]) or not step:
                raise CalphadError(f"no converged equilibrium at {temperature:.2f} K", phase_table(rows))
            rows.extend(step)
        return phase_table(rows)


def _nudged_compositions(composition: Mapping[str, float], elements: Sequence[str]) -> Iterable[dict[str, float]]:
    """Compositions within 1e-5 of ``composition`` (fixed order, fractions kept positive)."""
    if len(elements) < 2:
        return
    dependent = elements[-1]
    for step in NUDGES:
        for element in elements[:-1]:
            nudged = dict(composition)
            nudged[element] = nudged.get(element, 0.0) + step
            nudged[dependent] = nudged.get(dependent, 0.0) - step
            if min(nudged.values()) > 0:
                yield nudged


#: The properties compiled for every phase at build time, as ``(property, gradient, Hessian)``:
#: what ``PhaseRecord`` and the solver request (GM values, G values, G gradients, G Hessians).
PRECOMPILED_PROPERTIES = (("GM", False, False), ("G", False, False), ("G", True, False), ("G", False, True))


def compiled_keys(factory) -> frozenset:
    """The compiled functions a :class:`PicklablePhaseRecordFactory` holds (its memo keys; the
    ``PhaseRecord`` objects built from them are left out: they are not pickled)."""
    return frozenset(key for key in getattr(factory, "_memo", {}) if key[0] != "record")


def _compile(factory, key: tuple) -> None:
    """Compile the function a memo key of :class:`PicklablePhaseRecordFactory` names."""
    kind, *args = key
    if kind == "constraints":
        factory.get_phase_constraints(*args)
    elif kind == "moles":
        factory.get_phase_formula_moles_element(*args)
    elif kind == "property":
        factory.get_phase_property(*args)
    else:
        raise ValueError(f"not a compiled function: {key!r}")


def build_system(
    dbf,
    database: str,
    elements: tuple[str, ...],
    phases: list[str],
    pressure_Pa: float,
    extra: Sequence[tuple] = (),
) -> CompiledSystem:
    """Models, phase records and every callback the solver can ask for, compiled now.

    Compiling everything here (instead of lazily during a solve) keeps every compiled function in
    the pickle, so a process that loads it never compiles one of its own. ``extra``: memo keys of
    further functions to compile (ones a solve was found to need, see
    :meth:`PycalphadBackend.persist_new_callbacks`).
    """
    components = [e.upper() for e in elements] + ["VA"]
    models = instantiate_models(dbf, components, phases)
    factory = PicklablePhaseRecordFactory(dbf, components, {v.N: 1, v.P: pressure_Pa, v.T: 1000.0}, models)
    layout = {
        name: [
            [str(sf.species.name) for sf in models[name].site_fractions if sf.sublattice_index == i]
            for i in range(len(models[name].constituents))
        ]
        for name in phases
    }
    compiled = CompiledSystem(database, elements, components, phases, models, factory, layout)
    for name in phases:
        factory.get_phase_constraints(name)
        for prop, grad, hess in PRECOMPILED_PROPERTIES:
            factory.get_phase_property(name, prop, grad, hess)
        for element in factory.nonvacant_elements:
            for per_formula_unit in (True, False):
                factory.get_phase_formula_moles_element(name, element, per_formula_unit)
    for key in extra:
        _compile(factory, tuple(key))
    return compiled


def builds_in_process() -> bool:
    """True when this interpreter already runs with hash seed 0, so systems are compiled here."""
    return sys.flags.hash_randomization == 0


def _build_system_main() -> None:
    """Entry of the child interpreter of :meth:`PycalphadBackend._build_with_fixed_hash_seed`."""
    request = pickle.loads(sys.stdin.buffer.read())
    dbf = load_database(request["spec"], request["cache_dir"])
    compiled = build_system(
        dbf, request["spec"].name, request["elements"], request["phases"], request["pressure_Pa"], request["extra"]
    )
    if not store_cached(request["out"], request["out_root"], compiled):  # cache disk full or read-only
        store_cached(request["scratch"] / "system.pkl", request["scratch"], compiled)


def _share_points_across_temperatures(grid):
    """Store the sampled points once instead of once per temperature (in place; returns ``grid``).

    ``calculate`` repeats the site fractions (Y), compositions (X) and phase names of every sampled
    point for each temperature; only the energies (GM) depend on it. A 6-element grid at the fine
    point density holds ~780 MB that way and ~60 MB with the points shared through a zero stride on
    the temperature axis. pycalphad's Cython code needs writeable buffers but only reads the grid.
    """
    for name in ("X", "Y", "Phase"):
        if name not in grid.data_vars:
            continue
        dims, values = grid.data_vars[name]
        if "T" not in dims or values.shape[dims.index("T")] < 2:
            continue
        axis = dims.index("T")
        first = np.take(values, [0], axis=axis)
        last = np.take(values, [values.shape[axis] - 1], axis=axis)
        same = np.array_equal(first, last, equal_nan=True) if values.dtype.kind == "f" else np.array_equal(first, last)
        if not same:
            continue
        base = np.ascontiguousarray(first)
        strides = list(base.strides)
        strides[axis] = 0
        shared = np.lib.stride_tricks.as_strided(base, shape=values.shape, strides=strides, writeable=True)
        grid.data_vars[name] = (dims, shared)
        setattr(grid, name, shared)
    return grid


def _elements_only(sublattice: Mapping[str, float]) -> dict[str, float]:
    kept = {s.capitalize(): y for s, y in sublattice.items() if s not in ("VA", "/-") and y > 0}
    return kept or {s.capitalize(): 1.0 for s in sublattice if s not in ("VA", "/-")}
