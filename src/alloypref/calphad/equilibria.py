"""Equilibria of one compiled system solved from its cached grids, and the hull check that keeps them sound.

An answer is *sound* when it converged and its molar Gibbs energy is not above the grid's lower
convex hull at that composition (the starting point, a feasible state) by more than
:data:`HULL_TOLERANCE_J_PER_MOL`: a solve that ends above it has walked away from the minimum.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from pycalphad import equilibrium
from pycalphad import variables as v
from pycalphad.core.eqsolver import _solve_eq_at_conditions
from pycalphad.core.starting_point import starting_point

from alloypref.calphad.compiled_system import CompiledSystem
from alloypref.calphad.grid import sampled_grid
from alloypref.calphad.pycalphad_settings import PycalphadSettings

#: A solve whose molar Gibbs energy ends above the sampled grid's lower convex hull at the same
#: composition (a feasible mixture of sampled states, so an upper bound of the true minimum) by more
#: than this (J/mol) has walked away from the minimum and is not used; 1 J/mol only absorbs rounding.
HULL_TOLERANCE_J_PER_MOL = 1.0

#: Composition nudges (mole fraction moved from the last element to one other) tried, in this
#: order, where no grid gives a sound answer; all below the scorer's 1e-4 composition resolution.
NUDGES = (-1e-6, 1e-6, -1e-5, 1e-5)

#: One solved temperature: the per-temperature arrays of a solve (see :func:`per_temperature`) and its row in them.
Answer = tuple[dict[str, np.ndarray], int]


class SystemSolver:
    """Equilibria of one compiled system at fixed settings; sampled grids are cached on the system.

    ``orderable``: the system's orderable BCC phases (sampled at ``pdens_fine`` on the fine grid).
    """

    def __init__(self, dbf, system: CompiledSystem, settings: PycalphadSettings, orderable: Sequence[str]):
        self.dbf = dbf
        self.system = system
        self.settings = settings
        self.orderable = list(orderable)
        self.kinds = ["coarse"] + (["fine"] if settings.pdens_fine and self.orderable else [])

    def grid(self, temperatures: tuple[float, ...], kind: str):
        """The sampled grid of the system at ``temperatures`` (K), ``kind`` "coarse" or "fine"."""
        key = (temperatures, kind)
        if key not in self.system.grids:
            pdens: int | dict[str, int] = self.settings.pdens
            if kind == "fine":
                pdens = {name: self.settings.pdens for name in self.system.phases}
                pdens.update({name: self.settings.pdens_fine for name in self.orderable})
            self.system.grids[key] = sampled_grid(self.dbf, self.system, temperatures, pdens, self.settings.pressure_Pa)
        return self.system.grids[key]

    def solve(self, composition: Mapping[str, float], temperatures: tuple[float, ...], kind: str):
        """Equilibria at every temperature at once, from a cached grid; also the hull energies (J/mol).

        This is what ``pycalphad.core.workspace.Workspace.recompute`` does (pycalphad 0.11.2),
        with the grid taken from the cache instead of recomputed for every call.
        """
        grid = self.grid(temperatures, kind)
        conditions = OrderedDict(
            [
                (v.N, np.array([1.0])),
                (v.P, np.array([self.settings.pressure_Pa])),
                (v.T, np.asarray(temperatures, dtype=float)),
            ]
        )
        # One element is dependent; its fraction is 1 - the others.
        for element in self.system.elements[:-1]:
            conditions[v.X(element.upper())] = np.array([float(composition.get(element, 0.0))])
        factory = self.system.phase_records
        start = starting_point(conditions, factory.state_variables, factory, grid)
        hull_gibbs = np.array(start.GM, dtype=float).reshape(len(temperatures))  # the solve overwrites start
        result = _solve_eq_at_conditions(start, factory, grid, list(conditions), factory.state_variables, False)
        return result, hull_gibbs

    def checked_solve(
        self, composition: Mapping[str, float], temperatures: tuple[float, ...], kind: str
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-temperature arrays of one solve (with the hull energy as ``hull``) and which are sound."""
        result, hull = self.solve(composition, temperatures, kind)
        arrays = per_temperature(result, len(temperatures))
        arrays["hull"] = hull
        gibbs = arrays["GM"]
        sound = np.isfinite(gibbs) & (gibbs <= hull + HULL_TOLERANCE_J_PER_MOL)
        return arrays, sound

    def equilibrium(self, composition: Mapping[str, float], temperature: float):
        """One temperature (K) through ``pycalphad.equilibrium`` (pdens 60), for points the cached grids miss."""
        conditions = {v.N: 1.0, v.P: self.settings.pressure_Pa, v.T: float(temperature)}
        for element in self.system.elements[:-1]:
            conditions[v.X(element.upper())] = float(composition.get(element, 0.0))
        return equilibrium(
            self.dbf,
            self.system.components,
            self.system.phases,
            conditions,
            model=self.system.models,
            phase_records=self.system.phase_records,
            calc_opts={"pdens": 60},
            to_xarray=False,
        )

    def sound_answers(self, composition: Mapping[str, float], temperatures: tuple[float, ...]) -> list[Answer | None]:
        """The answer kept at each temperature (K), None where no start gave a sound one.

        Coarse grid first; the fine grid's answer where the coarse one is not sound or is higher by
        more than ``fine_grid_min_gain_J_per_mol``; then nudged compositions
        (:func:`nudged_compositions`, first sound answer kept); last ``pycalphad.equilibrium``.
        """
        solved = {kind: self.checked_solve(composition, temperatures, kind) for kind in self.kinds}
        coarse, coarse_sound = solved["coarse"]
        chosen: list[Answer | None] = [
            (coarse, index) if coarse_sound[index] else None for index in range(len(temperatures))
        ]
        # The fine pass solves every temperature at once: slicing the cached grid to the
        # temperatures that need it copies more memory than solving them all costs.
        if "fine" in solved:
            fine, fine_sound = solved["fine"]
            gain = self.settings.fine_grid_min_gain_J_per_mol
            for index in range(len(temperatures)):
                if fine_sound[index] and (chosen[index] is None or fine["GM"][index] < coarse["GM"][index] - gain):
                    chosen[index] = (fine, index)
        self._fill_from_nudged(chosen, composition, temperatures)
        self._fill_from_equilibrium(chosen, composition, temperatures, coarse["hull"])
        return chosen

    def _fill_from_nudged(
        self, chosen: list[Answer | None], composition: Mapping[str, float], temperatures: tuple[float, ...]
    ) -> None:
        """Fill the unanswered temperatures (in place) from solves at nudged compositions."""
        for nudged in nudged_compositions(composition, self.system.elements):
            missing = [index for index in range(len(temperatures)) if chosen[index] is None]
            if not missing:
                break
            for kind in self.kinds:
                arrays, sound = self.checked_solve(nudged, temperatures, kind)
                for index in missing:
                    if chosen[index] is None and sound[index]:
                        chosen[index] = (arrays, index)

    def _fill_from_equilibrium(
        self,
        chosen: list[Answer | None],
        composition: Mapping[str, float],
        temperatures: tuple[float, ...],
        hull: np.ndarray,
    ) -> None:
        """Last resort (in place): pycalphad's own equilibrium() at its default point density
        (slower, but starts from a different grid), kept where it is not above ``hull`` (J/mol)."""
        for index in range(len(temperatures)):
            if chosen[index] is None:
                retry = per_temperature(self.equilibrium(composition, temperatures[index]), 1)
                gibbs = retry["GM"][0]
                chosen[index] = (
                    (retry, 0) if np.isfinite(gibbs) and gibbs <= hull[index] + HULL_TOLERANCE_J_PER_MOL else None
                )


def per_temperature(result, n_temperatures: int) -> dict[str, np.ndarray]:
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


def nudged_compositions(composition: Mapping[str, float], elements: Sequence[str]) -> Iterable[dict[str, float]]:
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
