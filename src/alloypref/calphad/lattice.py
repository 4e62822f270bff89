"""Lattice parameter estimates (Å) for BCC and B2 composition sets.

No open TDB has molar-volume parameters, so lattice parameters are estimated from data files shipped
in ``alloypref/data`` (each constant with its source there):

* disordered BCC: a = (2 * V_m / N_A)^(1/3) with V_m = sum_i x_i V_i (Vegard's law on elemental molar
  volumes, ``elemental_molar_volumes.csv``); two atoms per BCC cell. This is the authors' Thermo-Calc
  formula with V_m estimated instead of computed.
* ordered B2: a = sum_ij y'_i y''_j a_ij over the two sublattices' site fractions, with a_ij the
  measured lattice constant of the B2 compound ij (``b2_lattice_constants.csv``), the elemental value
  for i == j, and the mean of the two elemental values otherwise. Plain Vegard puts NiAl at 3.006 Å
  against 2.887 Å measured; this estimate is exact for stoichiometric known compounds.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

AVOGADRO = 6.02214076e23  # 1/mol
_CM3_TO_A3 = 1e24  # 1 cm^3 = 1e24 Å^3


@lru_cache(maxsize=1)
def elemental_molar_volumes() -> dict[str, float]:
    """Element -> molar volume (cm^3/mol) at 298 K."""
    text = resources.files("alloypref.data").joinpath("elemental_molar_volumes.csv").read_text()
    return {row["element"]: float(row["molar_volume_cm3_per_mol"]) for row in csv.DictReader(text.splitlines())}


@lru_cache(maxsize=1)
def b2_compound_lattice_constants() -> dict[frozenset[str], float]:
    """Unordered element pair -> measured B2 lattice constant (Å)."""
    text = resources.files("alloypref.data").joinpath("b2_lattice_constants.csv").read_text()
    constants = {}
    for row in csv.DictReader(text.splitlines()):
        elements = re.findall(r"[A-Z][a-z]?", row["compound"])
        constants[frozenset(elements)] = float(row["a_angstrom"])
    return constants


def _molar_volume(element: str) -> float:
    volumes = elemental_molar_volumes()
    if element not in volumes:
        raise KeyError(f"no molar volume for element {element!r} in elemental_molar_volumes.csv")
    return volumes[element]


def elemental_bcc_lattice(element: str) -> float:
    """BCC-equivalent lattice parameter (Å) of a pure element from its molar volume."""
    return (2.0 * _molar_volume(element) * _CM3_TO_A3 / AVOGADRO) ** (1.0 / 3.0)


def bcc_lattice_parameter(fractions: Mapping[str, float]) -> float:
    """Disordered BCC lattice parameter (Å) from atomic fractions (normalised here)."""
    total = sum(fractions.values())
    molar_volume = sum(x * _molar_volume(el) for el, x in fractions.items()) / total
    return (2.0 * molar_volume * _CM3_TO_A3 / AVOGADRO) ** (1.0 / 3.0)


def pair_lattice_constant(first: str, second: str) -> float:
    """a_ij (Å): measured B2 constant, elemental value for i == j, else the mean of the two."""
    if first == second:
        return elemental_bcc_lattice(first)
    measured = b2_compound_lattice_constants().get(frozenset((first, second)))
    if measured is not None:
        return measured
    return 0.5 * (elemental_bcc_lattice(first) + elemental_bcc_lattice(second))


def b2_lattice_parameter(sublattice_1: Mapping[str, float], sublattice_2: Mapping[str, float]) -> float:
    """Ordered B2 lattice parameter (Å) from the site fractions of its two sublattices.

    Vacancies and other non-elements must be left out by the caller; each sublattice is
    renormalised over the elements given.
    """
    total_1, total_2 = sum(sublattice_1.values()), sum(sublattice_2.values())
    return sum(
        (y1 / total_1) * (y2 / total_2) * pair_lattice_constant(e1, e2)
        for e1, y1 in sublattice_1.items()
        for e2, y2 in sublattice_2.items()
    )
