"""Compiled systems: the models and phase records of one database and element set, every
callback compiled at build time, and the key their disk copies are stored under."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pycalphad
import symengine
from pycalphad import variables as v
from pycalphad.core.utils import instantiate_models

from alloypref.calphad.databases import DATABASE_FIX_VERSION, DatabaseSettings
from alloypref.calphad.ordering import has_b2_sublattices
from alloypref.calphad.phase_records import PicklablePhaseRecordFactory, compile_function
from alloypref.calphad.tables import PhaseRole

#: Bump when :class:`CompiledSystem` or :class:`PicklablePhaseRecordFactory` changes shape: part of
#: the disk-cache key, so old pickles are never loaded into new code.
SYSTEM_FORMAT = 3

#: The properties compiled for every phase at build time, as ``(property, gradient, Hessian)``:
#: what ``PhaseRecord`` and the solver request (GM values, G values, G gradients, G Hessians).
PRECOMPILED_PROPERTIES = (("GM", False, False), ("G", False, False), ("G", True, False), ("G", False, True))


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


def library_versions() -> str:
    """The pycalphad and symengine versions the compiled functions come from."""
    return f"pycalphad{pycalphad.__version__}-symengine{symengine.__version__}"


def system_cache_key(
    spec: DatabaseSettings, elements: tuple[str, ...], phases: list[str], pdens: int, pdens_fine: int
) -> str:
    """The disk-cache file stem of a compiled system (database file, elements, phases, code versions)."""
    phase_hash = hashlib.sha256(",".join(phases).encode()).hexdigest()[:12]
    return (
        f"{spec.name}-{spec.content_hash}-{'-'.join(elements)}-ph{phase_hash}-{DATABASE_FIX_VERSION}-sys{SYSTEM_FORMAT}-"
        f"{library_versions()}-pdens{pdens}-{pdens_fine}"
    )


def system_mismatch(system: CompiledSystem, database: str, elements: tuple[str, ...], phases: list[str]) -> str | None:
    """How a compiled system loaded for ``database`` and ``elements`` (with ``phases``) differs from
    what it was loaded for, in words; None when it is that system. A cache file renamed, copied over
    or written by a buggy build would otherwise be solved as the wrong alloy system."""
    held = (system.database, tuple(system.elements), list(system.phases))
    if held == (database, tuple(elements), list(phases)):
        return None
    return (
        f"it holds the {held[0]} system {'-'.join(held[1])} ({len(held[2])} phases), "
        f"not the {database} system {'-'.join(elements)} ({len(phases)} phases)"
    )


def orderable_phases(system: CompiledSystem, spec: DatabaseSettings) -> list[str]:
    """``bcc_like`` phases with two equal leading sublattices: where ordering can be missed."""
    return [
        name
        for name in system.phases
        if spec.role(name) == PhaseRole.BCC_LIKE
        and has_b2_sublattices(system.models[name].site_ratios, system.models[name].constituents)
    ]


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
    :meth:`alloypref.calphad.pycalphad_backend.PycalphadBackend.persist_new_callbacks`).
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
        compile_function(factory, tuple(key))
    return compiled
