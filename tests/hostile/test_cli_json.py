"""``alloypref score --json`` prints strict JSON: a missing or infinite number is null, never
``NaN`` or ``-Infinity`` (which JSON parsers other than Python's refuse)."""

import json
import math

import numpy as np
import pandas as pd

import alloypref.backend_factory
import alloypref.scoring
from alloypref.cli import main, strict_json

from ..helpers import FakeBackend


def refuse_constants(name):
    raise ValueError(f"not JSON: {name}")


def test_score_json_is_strict_json_with_null_for_missing_and_infinite_numbers(monkeypatch, capsys):
    def score_one(bcc, b2, volume, backend, options, evidence):
        row = {"candidate_id": "cli", "master_composition": "", "database": "", "status": "failed"}
        row |= {"reward": -math.inf, "highest_b2_K": math.nan, "min_lattice_mismatch_A": np.float64(math.inf)}
        table = pd.DataFrame({"temperature_K": [373.15], "order_parameter": [np.nan], "mole_fraction": [pd.NA]})
        return row, table

    monkeypatch.setattr(alloypref.scoring, "score_one", score_one)
    monkeypatch.setattr(alloypref.backend_factory, "make_backend", lambda settings: FakeBackend())
    assert main(["score", "Nb", "NiAl", "30", "--json"]) == 1
    record = json.loads(capsys.readouterr().out, parse_constant=refuse_constants)
    assert record["result"]["reward"] is None and record["result"]["highest_b2_K"] is None
    assert record["result"]["min_lattice_mismatch_A"] is None
    assert record["phase_table"] == [{"temperature_K": 373.15, "order_parameter": None, "mole_fraction": None}]


def test_strict_json_keeps_finite_values_and_types():
    value = {"a": np.float32(1.5), "b": (np.int64(2), True, None, "x"), "c": [float("-inf")], 3: pd.NaT}
    assert strict_json(value) == {"a": 1.5, "b": [2, True, None, "x"], "c": [None], "3": None}
