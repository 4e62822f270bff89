"""Helpers shared by test modules: the small reference databases and pycalphad backend construction."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alloypref.calphad.databases import B2Formers, DatabaseSettings
from alloypref.calphad.pycalphad_backend import PycalphadBackend
from alloypref.calphad.pycalphad_settings import PycalphadSettings

DATA = Path(__file__).parent / "data"

#: Ni-Al (Dupin 2001), a small published assessment with ordered and disordered BCC.
NIAL = DatabaseSettings(
    "nial", str(DATA / "NI_AL_DUPIN_2001.TDB"), {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like", "LIQUID": "liquid"}
)

#: Al-Fe (Seiersten), the second small published assessment.
ALFE = DatabaseSettings(
    "alfe", str(DATA / "alfe_sei.TDB"), {"BCC_A2": "bcc_like", "B2_BCC": "bcc_like", "LIQUID": "liquid"}
)


def pycalphad_backend(
    databases: Iterable[DatabaseSettings], cache_dir: Path | None, b2_formers: B2Formers | None = None, **solver
) -> PycalphadBackend:
    """A pycalphad backend on ``databases`` caching in ``cache_dir``; ``solver``: fields of
    :class:`PycalphadSettings` that differ from its defaults (e.g. ``pdens_fine=0``)."""
    return PycalphadBackend(list(databases), PycalphadSettings(**solver), cache_dir, b2_formers)
