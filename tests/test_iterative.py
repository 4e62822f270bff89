"""Iterative DPO: round decisions (the uniqueness floor), and the headline metrics of the rounds."""

import numpy as np
import pandas as pd
import pytest

from alloypref.evaluation.drift import element_shares, total_variation
from alloypref.evaluation.headline import ledger_rows_of, round_table
from alloypref.lm.iterative import RoundDecision, current_policy, decide, round_temperature


def test_a_round_below_the_uniqueness_floor_is_rejected_and_the_chain_keeps_the_last_accepted_policy(tmp_path):
    first = decide(1, unique_at_100=0.8, element_tv=0.1, min_unique=0.5, previous=None)
    assert first.accepted and first.policy == "dpo_r1"
    second = decide(2, unique_at_100=0.3, element_tv=0.4, min_unique=0.5, previous=first)
    assert not second.accepted
    assert second.policy == "dpo_r1"  # round 3 (and the final source) continue from round 1's policy
    assert current_policy(second) == "dpo_r1"
    third = decide(3, unique_at_100=0.6, element_tv=0.2, min_unique=0.5, previous=second)
    assert third.accepted and third.policy == "dpo_r3"
    # a rejected first round leaves the SFT model as the policy
    assert decide(1, 0.2, 0.0, 0.5, None).policy == "sft"
    assert current_policy(None) == "sft"
    path = tmp_path / "r2.json"
    second.write(path)
    assert RoundDecision.read(path) == second


def test_a_decision_needs_the_previous_one_exactly_after_round_one():
    first = decide(1, 0.8, 0.0, 0.5, None)
    with pytest.raises(ValueError, match="previous"):
        decide(2, 0.8, 0.0, 0.5, None)
    with pytest.raises(ValueError, match="previous"):
        decide(1, 0.8, 0.0, 0.5, first)


def test_round_temperatures_repeat_the_last_item():
    assert [round_temperature([1.2, 1.0], r) for r in (1, 2, 3)] == [1.2, 1.0, 1.0]


def _rewards(pairs):
    return pd.DataFrame(
        {"bcc": [b for b, _ in pairs], "b2": [x for _, x in pairs], "master_composition": ["x"] * len(pairs)}
    )


def test_element_drift_is_the_total_variation_of_element_shares():
    sft = element_shares(_rewards([("NbMo", "AlNi"), ("Ti", "AlNi")]))  # Nb Mo Al Ni Ti Al Ni: 7 occurrences
    assert sft["Al"] == pytest.approx(2 / 7)
    assert total_variation(sft, sft) == 0.0
    disjoint = element_shares(_rewards([("V", "V")]))
    assert total_variation(sft, disjoint) == pytest.approx(1.0)


def test_hits_per_call_interval_brackets_the_ledger_rate():
    ledger = pd.DataFrame({"calls": [100, 100], "hits": [10, 30], "trusted_pairs": [4, 6], "trusted_systems": [2, 1]})
    rows = {row["metric"]: row for row in ledger_rows_of("m", ledger, 500, 0)}
    assert rows["hits_per_1000_calls"]["value"] == pytest.approx(200.0)
    assert rows["hits_per_1000_calls"]["low"] < 200.0 < rows["hits_per_1000_calls"]["high"]
    assert rows["calls"]["value"] == 200 and rows["hits"]["value"] == 40
    # the headline: distinct trusted pairs (10) and their systems (3) per 1,000 calls, no interval
    assert rows["trusted_pairs_per_1000_calls"]["value"] == pytest.approx(50.0)
    assert rows["trusted_systems_per_1000_calls"]["value"] == pytest.approx(15.0)
    assert rows["trusted_pairs"]["value"] == 10 and rows["trusted_systems"]["value"] == 3
    assert np.isnan(rows["trusted_pairs_per_1000_calls"]["low"])


def test_round_table_marks_rejected_rounds_and_reads_the_cumulative_ledger():
    headline = pd.DataFrame(
        [
            {"source": s, "metric": "all_rules", "value": v, "low": v - 0.1, "high": v + 0.1}
            for s, v in (("m-sft", 0.1), ("m-dpo_r1", 0.2), ("m-dpo_r2", 0.05))
        ]
    )
    ledger = pd.DataFrame(
        {
            "step": ["sft_samples", "round1", "round2"],
            "cumulative_calls": [100, 180, 250],
            "cumulative_hits": [10, 30, 31],
        }
    )
    table = round_table(headline, {"m-dpo": ledger}, ["m"], {("m", 1): True, ("m", 2): False})
    rules = table[table.metric == "all_rules"].set_index("round")
    assert rules["value"].tolist() == [0.1, 0.2, 0.05]
    assert rules["accepted"].tolist() == [True, True, False]
    cumulative = table[table.metric == "cumulative_hits_per_1000_calls"].set_index("round")["value"]
    assert cumulative.loc[2] == pytest.approx(1000 * 31 / 250)
    assert np.isnan(table[table.metric == "cumulative_hits_per_1000_calls"]["low"]).all()


def test_unique_at_100_interval_is_not_biased_low_by_resampling_duplicates():
    from alloypref.evaluation.headline import sample_rows_of

    n = 150  # every (BCC, B2) pair distinct: any 100 of them are 100 % unique
    rewards = pd.DataFrame(
        {
            "bcc": [f"Nb{i + 1}Mo{n + 1 - i}" for i in range(n)],
            "b2": ["AlNi"] * n,
            "master_composition": ["x"] * n,
            "status": ["ok"] * n,
            "all_rules": [False] * n,
            "reward": [-1.0] * n,
        }
    )
    fp = np.zeros((1, 3))
    rows = {
        r["metric"]: r for r in sample_rows_of("s", rewards, -1121.0, fp, fp, [1.0], pd.Series(dtype=float), 200, 0)
    }
    assert (rows["unique_at_100"]["value"], rows["unique_at_100"]["low"], rows["unique_at_100"]["high"]) == (1, 1, 1)
    assert np.isnan(rows["element_tv"]["value"])  # no SFT samples to drift from
    assert rows["unique_at_100"]["interval"] == "subsamples (narrower than fresh batches)"
    assert rows["cov_r@1"]["interval"] == "none" and np.isnan(rows["cov_r@1"]["low"])
