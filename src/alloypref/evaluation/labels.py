"""The reader's names (with units) of the headline and per-round metrics, for tables and figure
titles. No imports: a figure module can name metrics without depending on the code that computes them
(a workflow job reruns when any package file its script imports changes)."""

from __future__ import annotations

#: A reader's column name of each headline metric, with its unit (a share is a fraction 0-1);
#: the coverage metrics at a cutoff are named by :func:`metric_label`.
METRIC_LABELS = {
    "trusted_pairs_per_1000_calls": "Trusted pairs / 1,000 calls",
    "trusted_systems_per_1000_calls": "Trusted systems / 1,000 calls",
    "hits_per_1000_calls": "Hits / 1,000 calls",
    "calls": "CALPHAD calls",
    "hits": "Hits (triples)",
    "trusted_pairs": "Trusted pairs",
    "trusted_systems": "Trusted systems",
    "samples": "Samples",
    "all_rules": "All 4 rules (share)",
    "mean_reward": "Mean reward (Eq. 1)",
    "unique_at_100": "Unique pairs @100 (share)",
    "best_reward": "Best reward (Eq. 1)",
    "element_tv": "Element drift from SFT (TV, 0-1)",
    "cumulative_hits_per_1000_calls": "Cumulative hits / 1,000 calls",
}


def metric_label(metric: str) -> str:
    """The reader's name of a headline or round metric (``cov_r@4`` -> "COV-R (share, cutoff 4)");
    an unknown name is returned as it is."""
    kind, at, cutoff = metric.partition("@")
    if at and kind in ("cov_r", "cov_p"):
        name = "COV-R" if kind == "cov_r" else "COV-P parsed"
        return f"{name} (share, cutoff {cutoff})"
    return METRIC_LABELS.get(metric, metric)
