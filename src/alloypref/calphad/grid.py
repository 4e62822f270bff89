"""The sampled energy grid of a compiled system: every phase's Gibbs energy at sampled points.

It depends on the system, the temperatures and the point densities but not on the composition,
so a caller computes it once per system and temperature grid and reuses it for every candidate of
that element set: this is where most of a plain ``equilibrium()`` call's time goes.
"""

from __future__ import annotations

import numpy as np
from pycalphad import calculate

from alloypref.calphad.compiled_system import CompiledSystem


def sampled_grid(
    dbf, system: CompiledSystem, temperatures_K: tuple[float, ...], pdens: int | dict[str, int], pressure_Pa: float
):
    """Molar Gibbs energies (J/mol) of every phase of ``system`` at ``pdens`` points per degree of
    freedom (one density, or one per phase), at every temperature (K) and ``pressure_Pa`` (Pa)."""
    return share_points_across_temperatures(
        calculate(
            dbf,
            system.components,
            system.phases,
            model=system.models,
            phase_records=system.phase_records,
            fake_points=True,
            output="GM",
            to_xarray=False,
            T=list(temperatures_K),
            P=pressure_Pa,
            N=1.0,
            pdens=pdens,
        )
    )


def share_points_across_temperatures(grid):
    """Store the sampled points once instead of once per temperature (in place; returns ``grid``).

    ``calculate`` repeats the site fractions (Y), compositions (X) and phase names of every sampled
    point for each temperature; only the energies (GM) depend on it. A 6-element grid at the fine
    point density holds ~780 MB that way and ~60 MB with the points shared through a zero stride on
    the temperature axis. pycalphad's Cython code needs writeable buffers but only reads the grid.
    """
    for name in ("X", "Y", "Phase"):
        if name not in grid.data_vars:
            continue
        dims, values = grid.data_vars[name]
        if "T" not in dims or values.shape[dims.index("T")] < 2:
            continue
        axis = dims.index("T")
        first = np.take(values, [0], axis=axis)
        last = np.take(values, [values.shape[axis] - 1], axis=axis)
        same = np.array_equal(first, last, equal_nan=True) if values.dtype.kind == "f" else np.array_equal(first, last)
        if not same:
            continue
        base = np.ascontiguousarray(first)
        strides = list(base.strides)
        strides[axis] = 0
        shared = np.lib.stride_tricks.as_strided(base, shape=values.shape, strides=strides, writeable=True)
        grid.data_vars[name] = (dims, shared)
        setattr(grid, name, shared)
    return grid
