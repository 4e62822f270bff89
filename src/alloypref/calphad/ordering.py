"""When a BCC-type composition set counts as ordered B2: the one home of that test.

A B2 (CsCl) phase is described with two leading sublattices of equal size (``(A,B)0.5(A,B)0.5``,
possibly followed by an interstitial one). Its order parameter here is max_i |y'_i - y''_i| over
every constituent i of those two sublattices (dimensionless, 0 = disordered, 1 = fully ordered
stoichiometric); taking the maximum over constituents makes it independent of which sublattice a
database or a solver puts an element on. A set is ordered when that exceeds ``order_threshold``;
the authors' Thermo-Calc practice used 0.05, the default here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alloypref.config_schema import schema_default

#: Max |y' - y''| above which a BCC-type set counts as ordered B2 (the authors' value).
DEFAULT_ORDER_THRESHOLD = float(schema_default("calphad.order_threshold"))


#: Species a sublattice can hold that are not chemical elements: the vacancy and the electron.
NOT_ELEMENTS = frozenset({"VA", "/-"})


def has_b2_sublattices(site_ratios: Sequence[float], constituents: Sequence[Iterable] | None = None) -> bool:
    """Two leading sublattices of equal size (the B2 description), so the set can order.

    ``constituents`` (per sublattice, species or their names, as pycalphad's ``Model.constituents``
    or ``Phase.constituents`` hold them), when given, must put an element on both leading sublattices:
    ``(Nb,Ti)1(VA)1`` has equal sizes but nothing to order, and its vacancy-only second sublattice
    would read as a fully ordered set (order parameter 1).
    """
    if len(site_ratios) < 2 or abs(float(site_ratios[0]) - float(site_ratios[1])) >= 1e-9:
        return False
    if constituents is None:
        return True
    return len(constituents) >= 2 and all(_holds_an_element(sublattice) for sublattice in constituents[:2])


def _holds_an_element(sublattice: Iterable) -> bool:
    return any(str(getattr(species, "name", species)).upper() not in NOT_ELEMENTS for species in sublattice)


def order_parameter(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    """max_i |y'_i - y''_i| over the constituents of the two sublattices (a constituent missing
    from one sublattice has site fraction 0 there)."""
    species = sorted(set(first) | set(second))
    if not species:
        return 0.0
    return max(abs(float(first.get(s, 0.0)) - float(second.get(s, 0.0))) for s in species)


def is_ordered(order: float, threshold: float = DEFAULT_ORDER_THRESHOLD) -> bool:
    """Ordered B2 when the order parameter exceeds the threshold (strictly)."""
    return bool(order > threshold)
