"""Phase fraction against temperature, one curve per phase: the paper's Fig. 9 read as a chart.

One home for turning a long phase table (:mod:`alloypref.calphad.tables`, one candidate's rows) into
curves, shared by ``alloypref score --plot``, the top-candidates figure and the results explorer
(:mod:`alloypref.evaluation.explorer`).

A curve is keyed by the database phase with its composition-set number *and* the structure the
reward read it as (``BCC_B2#2`` as ``B2``): a composition set that orders on cooling is two curves,
its disordered and its ordered part, so the chart shows which structure the reward saw where. At a
grid temperature where a curve's phase is absent (not in the table) its fraction is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alloypref.calphad.tables import Structure

#: The order curves are listed and coloured in: the reward's two phases first.
STRUCTURE_ORDER = (Structure.BCC.value, Structure.B2.value, Structure.LIQUID.value, Structure.OTHER.value)


@dataclass(frozen=True)
class PhaseCurve:
    """One phase's mole fraction (0-1, per mole of atoms) at each temperature of its
    :class:`PhaseCurves`; ``structure`` is how the reward read it (:data:`STRUCTURE_ORDER`)."""

    phase: str
    structure: str
    fractions: tuple[float, ...]

    @property
    def label(self) -> str:
        """``BCC_B2#2 (B2)``: the database phase and how the reward read it (the bare structure for a
        curve summed per structure)."""
        return self.structure if self.phase == self.structure else f"{self.phase} ({self.structure})"


@dataclass(frozen=True)
class PhaseCurves:
    """Every phase's curve of one candidate over the temperatures its table holds (K, ascending)."""

    temperatures_K: tuple[float, ...]
    curves: tuple[PhaseCurve, ...]


def phase_curves(table: pd.DataFrame, per: str = "phase") -> PhaseCurves:
    """The curves of one candidate's phase table (columns ``temperature_K``, ``phase`` (unless
    ``per`` is ``structure``), ``structure``, ``mole_fraction``; a scored table's ``candidate_id`` is
    ignored).

    ``per``: ``phase``, one curve per (phase, structure) as the module describes; ``structure``, one
    per structure summing its composition sets (their numbers are not stable across temperatures),
    named by the structure. Curves come in :data:`STRUCTURE_ORDER`, then by phase name. An empty
    table gives no temperatures and no curves.

    Raises:
        ValueError: naming the column, when the table lacks one of those columns; naming ``per``
            when it is neither.
    """
    if per not in ("phase", "structure"):
        raise ValueError(f"per must be 'phase' or 'structure', got {per!r}")
    needed = ("temperature_K", "structure", "mole_fraction") + (("phase",) if per == "phase" else ())
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"a phase table needs column(s) {missing}; it has {list(table.columns)}")
    if table.empty:
        return PhaseCurves((), ())
    temperatures = table["temperature_K"].to_numpy(dtype=float)
    structures = table["structure"].astype(str).to_numpy()
    phases = structures if per == "structure" else table["phase"].astype(str).to_numpy()
    fractions = table["mole_fraction"].to_numpy(dtype=float)
    grid = np.unique(temperatures)  # ascending
    at = np.searchsorted(grid, temperatures)
    # plain numpy: pandas' pivot costs ~10 ms a candidate, and the explorer draws thousands
    summed: dict[tuple[str, str], np.ndarray] = {}
    for key, k, fraction in zip(zip(phases, structures), at, fractions):
        summed.setdefault(key, np.zeros(len(grid)))[k] += fraction
    rank = {structure: k for k, structure in enumerate(STRUCTURE_ORDER)}
    keys = sorted(summed, key=lambda key: (rank.get(key[1], len(rank)), key[0]))
    curves = tuple(
        PhaseCurve(phase, structure, tuple(summed[(phase, structure)].tolist())) for phase, structure in keys
    )
    return PhaseCurves(tuple(grid.tolist()), curves)
