"""Methods at matched CALPHAD calls: discovery curves, the common budget, and the replicates' ratios."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alloypref.evaluation.matched_calls import (
    MATCHED_CALLS_SCHEMA,
    log_ratio_interval,
    matched_table,
    targets,
)
from alloypref.ledger import at_calls, discovery_curve, ledger_rows

from .helpers import ledger_reward_rows as _rows


def test_discovery_curve_counts_calls_hits_and_trusted_pairs_as_the_ledger_does():
    """Hand count: NbMo+AlNi 40 % (call 1, hit, pair 1), the same triple again (no call, no new hit),
    Nb+AlNi 30 % failing a rule (call 2), an unparsed row (never reaches the solver, no point), then
    in step 2 Nb+AlNi 35 % (call 3, hit, pair 2) and MoNb+NiAl 50 % (call 4, hit of pair 1)."""
    first = _rows(
        [
            ("NbMo", "AlNi", 40.0, True, True),
            ("NbMo", "AlNi", 40.0, True, True),
            ("Nb", "AlNi", 30.0, False, True),
            ("garbage", "AlNi", 30.0, True, False),
        ]
    )
    second = _rows([("Nb", "AlNi", 35.0, True, True), ("MoNb", "NiAl", 50.0, True, True)])
    steps = [("sft_samples", first), ("round1", second)]
    curve = discovery_curve(steps)
    assert curve["calls"].tolist() == [1, 1, 2, 3, 4]
    assert curve["hits"].tolist() == [1, 1, 1, 2, 3]
    assert curve["trusted_pairs"].tolist() == [1, 1, 1, 2, 2]
    assert curve["trusted_systems"].tolist() == [1, 1, 1, 2, 2]
    ledger = ledger_rows(steps, "tiny-dpo")
    last = ledger.iloc[-1]
    assert curve.iloc[-1].tolist() == [
        last["cumulative_calls"],
        last["cumulative_hits"],
        last["cumulative_trusted_pairs"],
        last["cumulative_trusted_systems"],
    ]
    assert at_calls(curve, 2) == {"calls": 2, "hits": 1, "trusted_pairs": 1, "trusted_systems": 1}
    assert at_calls(curve, 0) == {"calls": 0, "hits": 0, "trusted_pairs": 0, "trusted_systems": 0}
    with pytest.raises(ValueError, match="negative"):
        at_calls(curve, -1)


def _curve(calls, pairs):
    return pd.DataFrame(
        {"calls": calls, "hits": pairs, "trusted_pairs": pairs, "trusted_systems": pairs}, dtype="int64"
    )


def test_every_method_is_cut_to_the_fewest_calls_any_of_its_model_spent():
    curves = {
        "tiny-dpo": _curve([1, 2, 3, 4, 5, 6], [1, 2, 2, 3, 4, 5]),
        "tiny-grpo": _curve([1, 2, 3, 4], [0, 0, 1, 1]),
        "tiny-bestofn": _curve([2, 4, 6], [1, 2, 3]),
        "tiny-sft": _curve([1], [1]),  # not compared: its calls are the DPO pipeline's first step
        "other-dpo": _curve([1], [1]),  # a model with one compared source: no row
    }
    table = matched_table(curves, ["tiny", "other"])
    assert table.columns.tolist() == MATCHED_CALLS_SCHEMA.names
    assert table["source"].tolist() == ["tiny-dpo", "tiny-grpo", "tiny-bestofn"]
    assert table["budget"].tolist() == [4, 4, 4]
    assert table["trusted_pairs"].tolist() == [3, 1, 2]
    assert table["calls"].tolist() == [4, 4, 4]
    assert table["total_calls"].tolist() == [6, 4, 6]


def test_log_ratio_interval_is_the_t_interval_of_the_mean_log_ratio():
    ratios = [1.0, 2.0, 4.0]
    mean, sd, low, high = log_ratio_interval(ratios)
    logs = np.log(ratios)
    half = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert mean == pytest.approx(2.0)  # the geometric mean of 1, 2, 4
    assert sd == pytest.approx(logs.std(ddof=1))
    assert (low, high) == pytest.approx((np.exp(np.log(2) - half), np.exp(np.log(2) + half)))


def test_targets_pool_each_seed_ratio_of_trusted_pairs_and_unique_at_100():
    replicates = {"tiny_s1": ("tiny", 1), "tiny_s2": ("tiny", 2)}
    matched = pd.DataFrame(
        {
            "source": ["tiny_s1-dpo", "tiny_s1-bestofn", "tiny_s2-dpo", "tiny_s2-bestofn"],
            "trusted_pairs": [12, 6, 8, 8],
        }
    )
    headline = pd.DataFrame(
        {
            "source": ["tiny_s1-dpo", "tiny_s1-sft", "tiny_s2-dpo", "tiny_s2-sft"],
            "metric": ["unique_at_100"] * 4,
            "value": [0.2, 0.25, 0.3, 0.3],
        }
    )
    rows = targets(matched, headline, replicates).set_index("metric")
    pairs = rows.loc["trusted_pairs_ratio_at_matched_calls"]
    assert pairs["source"] == "tiny-dpo / tiny-bestofn"
    assert pairs["seeds"] == 2
    assert pairs["mean"] == pytest.approx(np.sqrt(2.0 * 1.0))
    assert pairs["values"] == "1: 12/6, 2: 8/8"
    assert pairs["low"] < pairs["mean"] < pairs["high"]
    unique = rows.loc["unique_at_100_ratio"]
    assert unique["source"] == "tiny-dpo / tiny-sft"
    assert unique["mean"] == pytest.approx(np.sqrt(0.8 * 1.0))


def test_a_seed_with_no_trusted_pair_has_no_ratio_and_leaves_the_pool():
    replicates = {"tiny_s1": ("tiny", 1), "tiny_s2": ("tiny", 2)}
    matched = pd.DataFrame(
        {"source": ["tiny_s1-dpo", "tiny_s1-bestofn", "tiny_s2-dpo", "tiny_s2-bestofn"], "trusted_pairs": [4, 2, 3, 0]}
    )
    headline = pd.DataFrame(columns=["source", "metric", "value"])
    row = targets(matched, headline, replicates).set_index("metric").loc["trusted_pairs_ratio_at_matched_calls"]
    assert row["seeds"] == 1
    assert row["mean"] == pytest.approx(2.0)
    assert np.isnan(row["low"]) and np.isnan(row["high"])
