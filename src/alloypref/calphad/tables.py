"""The long phase table of the paper's Fig. 9, shared by every CALPHAD backend.

One row per temperature x phase composition set:

============================  ========  ==========================================================
column                        dtype     meaning
============================  ========  ==========================================================
``temperature_K``             float64   temperature (K)
``phase``                     string    database phase name with composition-set number, ``BCC_B2#2``
``structure``                 string    ``BCC`` (disordered BCC), ``B2`` (ordered), ``LIQUID`` or ``OTHER``
``mole_fraction``             float64   mole fraction of the phase (0-1, per mole of atoms)
``is_ordered``                bool      ordered B2 (two-sublattice site fractions differ) or B2 by definition
``order_parameter``           float64   max_i |y'_i - y''_i| over the two BCC sublattices; NaN if none
``lattice_parameter_A``       float64   estimated cubic lattice parameter (Å); NaN for non-BCC/B2
``status``                    string    ``ok``; other values are reserved for per-row failures
============================  ========  ==========================================================

Scoring adds the candidate's ``candidate_id`` in front when it writes tables of many candidates.
"""

from __future__ import annotations

from enum import Enum

import pandas as pd
import pyarrow as pa


class Structure(str, Enum):
    """What the reward needs to know about a phase."""

    BCC = "BCC"
    B2 = "B2"
    LIQUID = "LIQUID"
    OTHER = "OTHER"

    def __str__(self) -> str:  # so f-strings and Parquet show the bare value
        return self.value


class PhaseRole(str, Enum):
    """How a database phase is classified, set per database in config (never from its name)."""

    BCC_LIKE = "bcc_like"  # ordered or disordered depending on its site fractions
    B2 = "b2"  # B2 by definition (e.g. mc_ni's NIAL)
    LIQUID = "liquid"
    OTHER = "other"


PHASE_TABLE_SCHEMA = pa.schema(
    [
        ("temperature_K", pa.float64()),
        ("phase", pa.string()),
        ("structure", pa.string()),
        ("mole_fraction", pa.float64()),
        ("is_ordered", pa.bool_()),
        ("order_parameter", pa.float64()),
        ("lattice_parameter_A", pa.float64()),
        ("status", pa.string()),
    ]
)

PHASE_TABLE_COLUMNS = [field.name for field in PHASE_TABLE_SCHEMA]


def empty_phase_table() -> pd.DataFrame:
    """A phase table with the right columns and no rows."""
    return PHASE_TABLE_SCHEMA.empty_table().to_pandas()


def phase_table(rows: list[dict]) -> pd.DataFrame:
    """Build a phase table from row dicts, with the schema's column order and dtypes."""
    if not rows:
        return empty_phase_table()
    frame = pd.DataFrame(rows)
    missing = [c for c in PHASE_TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"phase table rows lack columns {missing}")
    frame = frame[PHASE_TABLE_COLUMNS]
    frame["structure"] = frame["structure"].map(str)
    return frame.astype(
        {
            "temperature_K": "float64",
            "phase": "object",
            "structure": "object",
            "mole_fraction": "float64",
            "is_ordered": "bool",
            "order_parameter": "float64",
            "lattice_parameter_A": "float64",
            "status": "object",
        }
    )
