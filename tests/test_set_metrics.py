"""Set-valued metrics (unique@100, COV-R): intervals over fresh batches or subsamples contain their value."""

import numpy as np
import pandas as pd
import pytest

from alloypref.evaluation import set_metrics
from alloypref.evaluation.headline import fresh_batch, interval_legend, sample_rows_of, split_batches


def _rewards(bcc):
    n = len(bcc)
    return pd.DataFrame(
        {
            "bcc": bcc,
            "b2": ["AlNi"] * n,
            "b2_volume_percent": [30.0] * n,
            "master_composition": ["x"] * n,
            "status": ["ok"] * n,
            "all_rules": [False] * n,
            "reward": [-1.0] * n,
        }
    )


def _distinct(n, offset=0):
    """n BCC formulas of distinct compositions."""
    return [f"Nb{i + 1 + offset}Mo{500 - i - offset}" for i in range(n)]


def test_median_interval_contains_its_value_even_for_skewed_draws():
    # 39 equal draws and one outlier: the mean (0.975) would lie outside [1, 1]; the median does not
    value, low, high = set_metrics.median_interval([1.0] * 39 + [0.0])
    assert low <= value <= high and value == 1.0
    assert all(np.isnan(set_metrics.median_interval([])))


def test_unique_share_counts_distinct_keys_among_the_first_k():
    codes = np.array([0, 0, 1, 2] + [3] * 200)
    assert set_metrics.unique_share(codes, k=4) == 3 / 4
    assert set_metrics.unique_share(codes, k=100) == 4 / 100
    assert set_metrics.unique_share(np.array([], dtype=int)) == 0.0


def test_fresh_batches_give_unique_at_100_its_value_and_interval():
    own = _rewards(_distinct(100))  # unique@100 = 1.0
    # fresh batches of 100 parsed samples with 50, 80 and 100 distinct pairs
    batches = []
    for distinct in (50, 80, 100):
        formulas = _distinct(distinct) + _distinct(1) * (100 - distinct)
        batches.append(_rewards(formulas))
    fp = np.zeros((1, 3))
    fresh = [(set_metrics.pair_codes(b), np.zeros((len(b), 3))) for b in batches]
    rows = {
        r["metric"]: r
        for r in sample_rows_of("s", own, -1121.0, np.zeros((100, 3)), fp, [1.0], pd.Series(dtype=float), 200, 0, fresh)
    }
    unique = rows["unique_at_100"]
    draws = [1.0, 0.5, 0.8, 1.0]  # own, then the three fresh batches (the repeats are the first pair)
    assert unique["value"] == pytest.approx(np.median(draws))
    assert (unique["low"], unique["high"]) == pytest.approx(tuple(np.percentile(draws, [2.5, 97.5])))
    assert unique["interval"] == "fresh batches"
    assert rows["cov_r@1"]["interval"] == "fresh batches" and rows["cov_r@1"]["value"] == 1.0


def test_cov_r_over_fresh_batches_counts_an_empty_batch_as_zero():
    own = _rewards(_distinct(10))
    reference = np.array([[0.0, 0.0], [5.0, 5.0]])
    own_fp = np.zeros((10, 2))  # every sample on the first reference point: COV-R 0.5
    fresh = [(np.array([0]), np.array([[5.0, 5.0]])), (np.empty(0, dtype=int), np.empty((0, 0)))]
    rows = sample_rows_of("s", own, -1121.0, own_fp, reference, [1.0], pd.Series(dtype=float), 100, 0, fresh)
    cov_r = next(r for r in rows if r["metric"] == "cov_r@1")
    assert cov_r["value"] == 0.5  # median of 0.5, 0.5 and 0.0
    assert cov_r["low"] <= 0.5 <= cov_r["high"] and cov_r["low"] < 0.05


def test_fresh_batch_keeps_parsed_samples_only(tmp_path):
    samples = pd.DataFrame(
        {
            "bcc": ["Nb2Mo", "Nb2Mo", "", "MoMo"],
            "b2": ["AlNi", "AlNi", "", "AlNi"],
            "b2_volume_percent": [30.0, 30.0, np.nan, 30.0],
            "status": ["ok", "ok", "unparsed", "malformed"],
            "batch": [0, 0, 1, 1],
        }
    )
    codes, fp = fresh_batch(samples)
    assert list(codes) == [0, 0] and fp.shape[0] == 2
    assert [len(b) for b in split_batches(samples)] == [2, 2]


def test_fresh_seed_is_apart_from_the_stage_streams():
    seeds = {set_metrics.fresh_seed(s) for s in (42, 43, 42 + 500_000, 42 + 1_000_000)}
    assert len(seeds) == 4 and not seeds & {42, 43, 42 + 500_000, 42 + 1_000_000}
    assert set_metrics.fresh_seed(42) == set_metrics.fresh_seed(42)


def test_interval_legend_names_each_metrics_method_and_its_sources():
    table = pd.DataFrame(
        [
            {"source": "a", "metric": "unique_at_100", "interval": "fresh batches"},
            {"source": "b", "metric": "unique_at_100", "interval": set_metrics.SUBSAMPLE},
            {"source": "a", "metric": "all_rules", "interval": "bootstrap of samples"},
            {"source": "a", "metric": "best_reward", "interval": "none"},
            {"source": "a", "metric": "cov_r@2", "interval": "fresh batches"},
            {"source": "b", "metric": "cov_r@2", "interval": "none"},
        ]
    )
    legend = interval_legend(table)
    assert "COV-R (share, cutoff 2): fresh batches (a), none (b)" in legend
    assert "Unique pairs @100 (share): fresh batches (a), subsamples (narrower than fresh batches) (b)" in legend
    assert "All 4 rules (share): bootstrap of samples" in legend and "Best reward" not in legend
