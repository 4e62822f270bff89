"""One lattice-parameter model (Å) for every BCC-type composition set, ordered (B2) or not.

No open TDB has molar-volume parameters, so the cubic lattice parameter is estimated from the site
fractions of the set's two B2 sublattices, y' and y'' (each summing to 1 over elements), with
constants from data files shipped in ``alloypref/data`` (each with its source there):

    a(y', y'') = sum_i sum_j y'_i y''_j A_ij                                          [Å]

    A_ii = a_i = (2 V_i / N_A)^(1/3)       elemental lattice constant from the molar volume V_i
                                           (``elemental_molar_volumes.csv``; two atoms per cell)
    A_ij = (a_i + a_j) / 2 + d_ij          d_ij = a_ij(B2) - (a_i + a_j) / 2 for a pair whose B2
                                           compound constant a_ij(B2) is measured
                                           (``b2_lattice_constants.csv``), else d_ij = 0

Because sum_j y''_j = 1 the symmetric part is Vegard's law on the overall composition
x_i = (y'_i + y''_i) / 2, so equivalently

    a = sum_i x_i a_i + sum_{i != j} y'_i y''_j d_ij.

Consequences, each tested:

* a disordered set (y' = y'' = x) and a B2 set of the same composition at zero order get the same
  value, and the value is a smooth (bilinear) function of the site fractions, so it is continuous
  through whatever order threshold classifies the set;
* the fully ordered stoichiometric compound (y'_A = 1, y''_B = 1) has its measured constant and a
  pure element its molar-volume constant;
* in a disordered A-B solution the A-B term adds 2 x_A x_B d_AB to Vegard's law: the negative
  deviation measured in, e.g., disordered Fe-Al (d_FeAl < 0) — not a fitting choice.

Pairs without a measured B2 compound follow Vegard's law. Interstitial sublattices and vacancies
are not part of the estimate; callers pass element site fractions only (renormalised here).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

AVOGADRO = 6.02214076e23  # 1/mol (exact, SI 2019)
_CM3_TO_A3 = 1e24  # 1 cm^3 = 1e24 Å^3


@lru_cache(maxsize=1)
def elemental_molar_volumes() -> dict[str, float]:
    """Element -> molar volume (cm^3/mol) at 298 K."""
    text = resources.files("alloypref.data").joinpath("elemental_molar_volumes.csv").read_text(encoding="utf-8")
    return {row["element"]: float(row["molar_volume_cm3_per_mol"]) for row in csv.DictReader(text.splitlines())}


@lru_cache(maxsize=1)
def b2_compound_lattice_constants() -> dict[frozenset[str], float]:
    """Unordered element pair -> measured B2 lattice constant (Å)."""
    text = resources.files("alloypref.data").joinpath("b2_lattice_constants.csv").read_text(encoding="utf-8")
    constants = {}
    for row in csv.DictReader(text.splitlines()):
        elements = re.findall(r"[A-Z][a-z]?", row["compound"])
        constants[frozenset(elements)] = float(row["a_angstrom"])
    return constants


def lattice_from_molar_volume(molar_volume_m3_per_mol: float) -> float:
    """Cubic BCC/B2 lattice parameter (Å) of a phase with this molar volume (m^3/mol of atoms):
    a = (2 V_m / N_A)^(1/3), two atoms per cell (the authors' Thermo-Calc formula)."""
    return (2.0 * molar_volume_m3_per_mol / AVOGADRO) ** (1.0 / 3.0) * 1e10


def elemental_lattice_constant(element: str) -> float:
    """a_i (Å): the BCC-cell edge of a pure element at its 298 K molar volume."""
    volumes = elemental_molar_volumes()
    if element not in volumes:
        raise KeyError(f"no molar volume for element {element!r} in elemental_molar_volumes.csv")
    return lattice_from_molar_volume(volumes[element] * 1e-6)


def pair_deviation(first: str, second: str) -> float:
    """d_ij (Å): measured B2 constant of the pair minus the mean of the elemental constants;
    0 for i == j or a pair without a measured B2 compound."""
    if first == second:
        return 0.0
    measured = b2_compound_lattice_constants().get(frozenset((first, second)))
    if measured is None:
        return 0.0
    return measured - 0.5 * (elemental_lattice_constant(first) + elemental_lattice_constant(second))


def _normalised(fractions: Mapping[str, float], name: str) -> dict[str, float]:
    kept = {el: float(y) for el, y in fractions.items() if y > 0}
    total = sum(kept.values())
    if total <= 0:
        raise ValueError(f"{name} has no positive element site fraction: {dict(fractions)}")
    return {el: y / total for el, y in sorted(kept.items())}


def lattice_parameter(sublattice_1: Mapping[str, float], sublattice_2: Mapping[str, float]) -> float:
    """a (Å) of a BCC-type set from the element site fractions of its two B2 sublattices (module doc).

    Each sublattice is renormalised over the elements given; pass the same fractions twice for a
    set without a B2 sublattice description (a plain A2 phase).
    """
    first = _normalised(sublattice_1, "sublattice 1")
    second = _normalised(sublattice_2, "sublattice 2")
    elements = sorted(set(first) | set(second))
    vegard = sum(0.5 * (first.get(el, 0.0) + second.get(el, 0.0)) * elemental_lattice_constant(el) for el in elements)
    excess = sum(y1 * y2 * pair_deviation(e1, e2) for e1, y1 in first.items() for e2, y2 in second.items() if e1 != e2)
    return vegard + excess


def disordered_lattice_parameter(fractions: Mapping[str, float]) -> float:
    """a (Å) of a disordered set of overall atomic fractions ``fractions`` (y' = y'' = x)."""
    return lattice_parameter(fractions, fractions)
