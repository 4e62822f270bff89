"""The simulator-call ledger: calls are new unique candidates, hits those meeting all four rules."""

import pandas as pd
import pytest

from alloypref.ledger import LEDGER_SCHEMA, budget_prefix, hit_curve, hits_per_1000, ledger_rows

from .helpers import ledger_reward_rows as _rows


def test_repeats_within_and_across_steps_cost_no_call():
    first = _rows([("NbMo", "AlNi", 40.0, True, True), ("MoNb", "NiAl", 40.0, True, True)])
    second = _rows(
        [
            ("MoNb", "AlNi", 40.001, True, True),  # the same candidate after rounding: the cache answers it
            ("NbMo", "AlNi", 41.0, False, True),  # a new volume: a new call, no hit
            ("Nb", "AlNi", 30.0, True, True),  # a new hit
            ("garbage", "AlNi", 30.0, True, False),  # never reaches the solver
        ]
    )
    ledger = ledger_rows([("sft_samples", first), ("round1", second)], "tiny-dpo")
    assert ledger.columns.tolist() == LEDGER_SCHEMA.names
    assert ledger["calls"].tolist() == [1, 2]
    assert ledger["cumulative_calls"].tolist() == [1, 3]
    assert ledger["hits"].tolist() == [1, 1]
    assert ledger["cumulative_hits"].tolist() == [1, 2]
    assert str(ledger["calls"].dtype) == "int64"
    assert hits_per_1000(ledger) == pytest.approx(1000 * 2 / 3)


def test_trusted_pairs_are_distinct_bcc_b2_pairs_of_trusted_hits_and_systems_their_element_sets():
    """Hand count. Step 1: NbMo+AlNi at 40 and 41 % (one pair, two hits; system Al-Mo-Nb-Ni),
    MoNb+NiAl at 50 % (the same pair written differently, a third hit), Nb+AlNi (a second pair, system
    Al-Nb-Ni), Nb+AlNi again at 30 % (a repeat: no call). Step 2: NbMo+AlNi at 60 % (a hit of a known
    pair), Ti+AlNi (an untrusted hit: no pair), TiV+AlNi (failing a rule), Mo+AlNi (a third pair, in a
    new system Al-Mo-Ni)."""
    first = _rows(
        [
            ("NbMo", "AlNi", 40.0, True, True),
            ("NbMo", "AlNi", 41.0, True, True),
            ("MoNb", "NiAl", 50.0, True, True),
            ("Nb", "AlNi", 30.0, True, True),
            ("Nb", "AlNi", 30.0, True, True),
        ]
    )
    second = pd.concat(
        [
            _rows([("NbMo", "AlNi", 60.0, True, True)]),
            _rows([("Ti", "AlNi", 30.0, True, True)], trusted=False),
            _rows([("TiV", "AlNi", 30.0, False, True), ("Mo", "AlNi", 30.0, True, True)]),
        ],
        ignore_index=True,
    )
    ledger = ledger_rows([("sft_samples", first), ("round1", second)], "tiny-dpo")
    assert ledger["calls"].tolist() == [4, 4] and ledger["hits"].tolist() == [4, 3]
    assert ledger["trusted_pairs"].tolist() == [2, 1]  # {NbMo|AlNi, Nb|AlNi}, then {Mo|AlNi}
    assert ledger["cumulative_trusted_pairs"].tolist() == [2, 3]
    assert ledger["trusted_systems"].tolist() == [2, 1]  # {Al-Mo-Nb-Ni, Al-Nb-Ni}, then {Al-Mo-Ni}
    assert ledger["cumulative_trusted_systems"].tolist() == [2, 3]
    assert hits_per_1000(ledger, "trusted_pairs") == pytest.approx(1000 * 3 / 8)
    assert hits_per_1000(ledger, "trusted_systems") == pytest.approx(1000 * 3 / 8)
    assert hits_per_1000(ledger) == pytest.approx(1000 * 7 / 8)  # per triple, trusted or not


def test_a_hit_flag_without_an_ok_status_is_no_hit():
    rows = _rows([("NbMo", "AlNi", 40.0, True, True)]).assign(status="failed")
    assert ledger_rows([("s", rows)], "m")["hits"].tolist() == [0]


def test_hit_curve_counts_each_candidate_once():
    rows = _rows(
        [("NbMo", "AlNi", 40.0, True, True), ("NbMo", "AlNi", 40.0, True, True), ("Nb", "AlNi", 5, False, True)]
    )
    curve = hit_curve(rows)
    assert curve["calls"].tolist() == [1, 2]
    assert curve["hits"].tolist() == [1, 1]


def test_missing_columns_and_repeated_steps_are_named():
    with pytest.raises(ValueError, match="all_rules"):
        ledger_rows([("round1", _rows([("NbMo", "AlNi", 40.0, True, True)]).drop(columns="all_rules"))], "m")
    rows = _rows([("NbMo", "AlNi", 40.0, True, True)])
    with pytest.raises(ValueError, match="repeat"):
        ledger_rows([("a", rows), ("a", rows)], "m")


def test_budget_prefix_stops_at_the_budget_of_unique_calls():
    pool = pd.DataFrame(
        {
            "bcc": ["NbMo", "NbMo", "Xx", "Nb", "Mo", "Ti"],
            "b2": ["AlNi", "AlNi", "AlNi", "AlNi", "AlNi", "AlNi"],
            "b2_volume_percent": [40.0, 40.0, 40.0, 30.0, 30.0, 30.0],
            "status": ["ok", "ok", "unknown_element", "ok", "ok", "ok"],
        }
    )
    # a repeat and an unparsed row ride along for free; the third unique candidate is where it stops
    assert budget_prefix(pool, 2)["bcc"].tolist() == ["NbMo", "NbMo", "Xx", "Nb"]
    assert len(budget_prefix(pool, 10)) == len(pool)


def test_a_new_candidate_costs_its_database_solves_and_an_old_table_one_call_each():
    rows = _rows(
        [
            ("NbMo", "AlNi", 40.0, True, True),
            ("MoNb", "NiAl", 40.0, True, True),  # the same triple: no further call
            ("Nb", "AlNi", 30.0, False, True),
            ("Nb", "RuAl", 30.0, False, True),  # no database held it: still one call, as before
            ("garbage", "AlNi", 30.0, True, False),
        ]
    )
    solved = rows.assign(databases_solved=[2, 2, 1, 0, 0])
    assert ledger_rows([("s", solved)], "m")["calls"].tolist() == [4]
    assert hit_curve(solved)["calls"].tolist() == [2, 3, 4]
    assert ledger_rows([("s", rows)], "m")["calls"].tolist() == [3]
