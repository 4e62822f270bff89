"""Phase-table rows from solved equilibrium arrays: structure, order parameter and lattice parameter per phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.compiled_system import CompiledSystem
from alloypref.calphad.databases import DatabaseSettings
from alloypref.calphad.equilibria import Answer
from alloypref.calphad.lattice import disordered_lattice_parameter, lattice_parameter
from alloypref.calphad.ordering import NOT_ELEMENTS, has_b2_sublattices, is_ordered, order_parameter
from alloypref.calphad.tables import PhaseRole, Structure, phase_table


def answers_table(
    system: CompiledSystem,
    spec: DatabaseSettings,
    order_threshold: float,
    temperatures_K: Sequence[float],
    answers: Sequence[Answer | None],
) -> pd.DataFrame:
    """The phase table of the answer kept at each temperature (K).

    Raises:
        CalphadError: at the first temperature without a converged answer, with the rows of the
            temperatures before it.
    """
    components = list(system.phase_records.nonvacant_elements)
    rows: list[dict] = []
    for temperature, answer in zip(temperatures_K, answers):
        if answer is None:
            raise CalphadError(f"no converged equilibrium at {temperature:.2f} K", phase_table(rows))
        arrays, row = answer
        step = phase_rows(
            system,
            spec,
            order_threshold,
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


def phase_rows(
    system: CompiledSystem,
    spec: DatabaseSettings,
    order_threshold: float,
    temperature: float,
    names: np.ndarray,
    amounts: np.ndarray,
    site_fractions: np.ndarray,
    compositions: np.ndarray,
    components: list[str],
) -> list[dict]:
    """Phase-table rows of one solved temperature (K); ``order_threshold`` as in
    :class:`alloypref.calphad.pycalphad_settings.PycalphadSettings`."""
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
            row.update(
                _bcc_columns(
                    system, name, role, site_fractions[vertex], compositions[vertex], components, order_threshold
                )
            )
        elif role == PhaseRole.LIQUID:
            row["structure"] = Structure.LIQUID
        else:
            row["structure"] = Structure.OTHER
        rows.append(row)
    return rows


def _bcc_columns(
    system: CompiledSystem,
    name: str,
    role: PhaseRole,
    site_fractions: np.ndarray,
    composition: np.ndarray,
    components: list[str],
    order_threshold: float,
) -> dict:
    """Order parameter, lattice parameter (Å), ordering and structure of one BCC or B2 composition set."""
    columns: dict = {}
    sublattices = _sublattice_fractions(system.site_fraction_layout[name], site_fractions)
    orderable = len(sublattices) >= 2 and has_b2_sublattices(
        system.models[name].site_ratios, system.models[name].constituents
    )
    if orderable:
        first, second = sublattices[0], sublattices[1]
        columns["order_parameter"] = order_parameter(first, second)
        columns["lattice_parameter_A"] = lattice_parameter(_elements_only(first), _elements_only(second))
    else:
        fractions = {
            c.capitalize(): float(x) for c, x in zip(components, composition) if c != "VA" and np.isfinite(x) and x > 0
        }
        columns["lattice_parameter_A"] = disordered_lattice_parameter(fractions)
    ordered = role == PhaseRole.B2 or (
        orderable and is_ordered(columns.get("order_parameter", float("nan")), order_threshold)
    )
    columns["is_ordered"] = bool(ordered)
    columns["structure"] = Structure.B2 if ordered else Structure.BCC
    return columns


def _sublattice_fractions(layout: list[list[str]], values: np.ndarray) -> list[dict[str, float]]:
    out, index = [], 0
    for species in layout:
        out.append({s: float(values[index + k]) for k, s in enumerate(species)})
        index += len(species)
    return out


def _elements_only(sublattice: Mapping[str, float]) -> dict[str, float]:
    kept = {s.capitalize(): y for s, y in sublattice.items() if s not in NOT_ELEMENTS and y > 0}
    return kept or {s.capitalize(): 1.0 for s in sublattice if s not in NOT_ELEMENTS}
