"""The interface every CALPHAD backend implements, and the shared temperature grid."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    from alloypref.calphad.trust import TrustedChoice, TrustEvidence

#: The authors' Thermo-Calc grid (K): 373.15, 773.15, 1073.15, 1173.15, 1273.15, then every 50 K
#: from 1373.15 to 2273.15 K — 24 temperatures.
DEFAULT_TEMPERATURES_K: tuple[float, ...] = (373.15, 773.15, 1073.15, 1173.15, 1273.15) + tuple(
    1373.15 + 50.0 * i for i in range(19)
)


class CalphadError(RuntimeError):
    """An equilibrium that could not be computed; ``reason`` is recorded in the reward row."""

    def __init__(self, reason: str, partial_table: pd.DataFrame | None = None):
        super().__init__(reason)
        self.reason = reason
        self.partial_table = partial_table


@runtime_checkable
class CalphadBackend(Protocol):
    """A source of Fig. 9 phase tables (see :mod:`alloypref.calphad.tables`)."""

    name: str

    def elements(self) -> set[str]:
        """Every element some configured database holds (capitalised symbols)."""
        ...

    def choose_database(self, composition: Mapping[str, float] | Iterable[str]) -> tuple[str | None, float]:
        """The best-covering database for this composition (or element set) and its coverage score
        (0-1); the design-space filter's choice, which has no phase facts to go by."""
        ...

    def database_choices(
        self, composition: Mapping[str, float], trust_evidence: TrustEvidence | None
    ) -> list[TrustedChoice]:
        """Every database holding all of the composition's elements (mole fractions), trusted first
        (:func:`alloypref.calphad.trust.rank_databases`; coverage breaks ties): the scorer's choice is
        the first. Without evidence every database is untrusted."""
        ...

    def phase_table(
        self, composition: Mapping[str, float], temperatures_K: Sequence[float], database: str
    ) -> pd.DataFrame:
        """Equilibrium phase table of ``composition`` (atomic fractions) at each temperature.

        Raises :class:`CalphadError` when an equilibrium cannot be computed.
        """
        ...
