"""Build the configured CALPHAD backend from the typed settings of :mod:`alloypref.config`.

It lives outside :mod:`alloypref.calphad` because it reads the configuration, which itself
builds on that package's types: the calphad package never imports the configuration.
"""

from __future__ import annotations

from alloypref.calphad.backend import CalphadBackend
from alloypref.config import CalphadSettings


def make_backend(settings: CalphadSettings) -> CalphadBackend:
    """The backend named by ``calphad.backend`` (pycalphad by default)."""
    if settings.backend == "thermocalc":
        from alloypref.calphad.thermocalc_backend import TCHEA7_ELEMENTS, ThermoCalcBackend

        return ThermoCalcBackend(settings.thermocalc_database, settings.order_threshold, elements=TCHEA7_ELEMENTS)
    from alloypref.calphad.pycalphad_backend import PycalphadBackend
    from alloypref.calphad.pycalphad_settings import PycalphadSettings

    return PycalphadBackend(
        settings.databases,
        PycalphadSettings(**settings.pycalphad, order_threshold=settings.order_threshold),
        cache_dir=settings.cache_dir,
        b2_formers=settings.b2_formers,
    )
