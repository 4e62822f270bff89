"""Solver settings of the pycalphad backend."""

from __future__ import annotations

from dataclasses import dataclass

from alloypref.calphad.ordering import DEFAULT_ORDER_THRESHOLD


@dataclass(frozen=True)
class PycalphadSettings:
    """Solver settings.

    Attributes:
        pdens: points per degree of freedom of the global-minimisation grid (pycalphad default 60;
            10-20 gave the same phase sets on the cases compared, at a fraction of the cost).
        pdens_fine: point density of the orderable BCC phases in a second solve (the other phases
            keep ``pdens``), to catch ordered states the coarse grid misses; 0 disables it.
        fine_grid_min_gain_J_per_mol: the fine-grid answer replaces the coarse one only when its
            molar Gibbs energy is lower by more than this (J/mol). On mc_ni the missed ordered state
            of the paper's Ti33Mo67 + AlVFe example is 480-660 J/mol lower at 1523-1673 K; on COST507
            the fine grid turns the Cr-rich set of the Fig. 9 example at 373 K into a partially
            ordered one (max|y'-y''| = 0.41) only 4 J/mol lower, an artefact of pycalphad extending
            the ordered model to unassessed pairs (Thermo-Calc: disordered). 50 J/mol sits between;
            differences of a few J/mol are far below any assessment's accuracy.
        pressure_Pa: pressure (Pa).
        order_threshold: max |y' - y''| above which a BCC composition set counts as ordered B2
            (see :mod:`alloypref.calphad.ordering`); the authors' 0.05 by default. Real B2 sets
            show 0.3-1.0 and disordered ones ~0, so values from 0.05 to 0.1 classify alike.
        max_systems_in_memory: compiled systems kept in memory (LRU).
    """

    pdens: int = 20
    pdens_fine: int = 150
    pressure_Pa: float = 101325.0
    order_threshold: float = DEFAULT_ORDER_THRESHOLD
    fine_grid_min_gain_J_per_mol: float = 50.0
    max_systems_in_memory: int = 2
