"""Headline metrics of every method, each with a bootstrap 95 % interval, and the collapse watch.

Headline table (``results/metrics/headline.parquet``), one row per (source, metric):

=========  =======  ===================================================================
column     dtype    meaning
=========  =======  ===================================================================
source     string   the method (Table 1 source) or a round (``{model}-dpo_r{r}``)
metric     string   see :data:`HEADLINE_METRICS`
value      float64  the metric on the source's samples (or its ledger)
low, high  float64  percentile bootstrap 95 % interval (NaN where not defined)
=========  =======  ===================================================================

* ``trusted_pairs_per_1000_calls`` (the headline): distinct (BCC, B2) pairs meeting all four rules on
  a database trusted for them, per 1,000 CALPHAD calls over the method's whole ledger
  (:mod:`alloypref.ledger`); ``trusted_systems_per_1000_calls``: their distinct element systems per
  1,000 calls. No interval: a distinct count is not a mean of the calls, and a resample of them
  with replacement undercounts it.
* ``hits_per_1000_calls``: unique candidate triples meeting all four rules (trusted or not; a new
  volume % is a new hit) per 1,000 CALPHAD calls; the interval resamples the called candidates.
* ``calls``, ``hits``, ``trusted_pairs``, ``trusted_systems``: the ledger's totals (no interval).
* ``all_rules``, ``mean_reward``: as in Table 1, intervals resample samples.
* ``unique_at_100``: as in Table 1; the interval is over subsamples of 100 parsed samples drawn without
  replacement (a resample with replacement would make duplicates of its own).
* ``cov_r@c``, ``cov_p@c``: COV-R and COV-P (parsed) at fingerprint cutoff c; intervals resample the
  parsed samples.
* ``best_reward``: the highest reward among the source's samples (the best-of-N answer).
* ``element_tv``: total variation distance between the source's element frequencies and the SFT
  samples' (0: the same mix; 1: disjoint) — the drift the collapse watch logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.evaluation.comparisons import bootstrap_interval
from alloypref.evaluation.drift import element_shares, total_variation
from alloypref.evaluation.metrics import canonical_key, nearest_distances, unique_at
from alloypref.ledger import hits_per_1000

HEADLINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("low", pa.float64()),
        ("high", pa.float64()),
    ]
)

HEADLINE_METRICS = (
    "trusted_pairs_per_1000_calls",
    "trusted_systems_per_1000_calls",
    "hits_per_1000_calls",
    "calls",
    "hits",
    "trusted_pairs",
    "trusted_systems",
    "all_rules",
    "mean_reward",
    "unique_at_100",
    "best_reward",
)


def hit_flags(rewards: pd.DataFrame) -> np.ndarray:
    """Per sample: scored ``ok`` and meeting all four rules."""
    return (rewards["all_rules"].astype(bool) & (rewards["status"] == "ok")).to_numpy(dtype=float)


def scored_rewards(rewards: pd.DataFrame, worst: float) -> np.ndarray:
    """Rewards with the worst reward for every sample not scored ``ok``."""
    return rewards["reward"].where(rewards["status"] == "ok", worst).fillna(worst).to_numpy(dtype=float)


def _pair_keys(rewards: pd.DataFrame) -> np.ndarray:
    """unique@100's (BCC, B2) key of each parsed row, as integer codes (parsed once, resampled often)."""
    parsed = rewards[rewards["master_composition"] != ""]
    keys = [(canonical_key(r.bcc), canonical_key(r.b2)) for r in parsed.itertuples(index=False)]
    return pd.factorize(pd.Series(keys, dtype=object))[0] if keys else np.empty(0, dtype=np.int64)


def _unique_draw(codes: np.ndarray, rng: np.random.Generator, n: int = 100) -> float:
    """unique@n of n parsed rows drawn *without* replacement: a resample with replacement would add
    duplicates of its own and bias a distinct count low. With n or fewer parsed rows every draw is
    the whole set, so the interval shrinks to the value."""
    if len(codes) == 0:
        return 0.0
    draw = rng.choice(codes, size=min(n, len(codes)), replace=False)
    return len(np.unique(draw)) / len(draw)


def ledger_rows_of(source: str, ledger: pd.DataFrame, n_boot: int, seed: int) -> list[dict]:
    """Trusted pairs and systems per 1,000 calls, hits per 1,000 calls with its interval, and the
    ledger's totals (module doc)."""
    calls, hits = int(ledger["calls"].sum()), int(ledger["hits"].sum())
    flags = np.r_[np.ones(hits), np.zeros(calls - hits)]
    low, high = bootstrap_interval(flags, lambda f: 1000.0 * f.mean(), n_boot, seed)
    no_interval = {"low": np.nan, "high": np.nan}
    rows = [
        {"source": source, "metric": f"{count}_per_1000_calls", "value": hits_per_1000(ledger, count)} | no_interval
        for count in ("trusted_pairs", "trusted_systems")
    ]
    rows.append(
        {"source": source, "metric": "hits_per_1000_calls", "value": hits_per_1000(ledger)} | {"low": low, "high": high}
    )
    rows += [
        {"source": source, "metric": count, "value": float(ledger[count].sum())} | no_interval
        for count in ("calls", "hits", "trusted_pairs", "trusted_systems")
    ]
    return rows


def sample_rows_of(
    source: str,
    rewards: pd.DataFrame,
    worst: float,
    parsed_fp: np.ndarray,
    reference_fp: np.ndarray,
    cutoffs: Sequence[float],
    sft_elements: pd.Series,
    n_boot: int,
    seed: int,
) -> list[dict]:
    """The sample-based headline metrics of one source with bootstrap intervals."""
    rows = []
    hits = hit_flags(rewards)
    reward = scored_rewards(rewards, worst)
    for name, values in (("all_rules", hits), ("mean_reward", reward)):
        low, high = bootstrap_interval(values, np.mean, n_boot, seed)
        rows.append({"source": source, "metric": name, "value": float(values.mean()) if len(values) else np.nan})
        rows[-1] |= {"low": low, "high": high}
    rng = np.random.default_rng(seed)
    codes = _pair_keys(rewards)
    draws = [_unique_draw(codes, rng) for _ in range(n_boot)]
    rows.append({"source": source, "metric": "unique_at_100", "value": unique_at(rewards)})
    rows[-1] |= {"low": float(np.percentile(draws, 2.5)), "high": float(np.percentile(draws, 97.5))}
    rows.append({"source": source, "metric": "best_reward", "value": float(reward.max()) if len(reward) else np.nan})
    rows[-1] |= {"low": np.nan, "high": np.nan}
    # coverage: distances once, then resample the parsed samples
    gen_to_ref, _ = nearest_distances(parsed_fp, reference_fp)
    for cutoff in cutoffs:
        if len(parsed_fp) == 0:
            rows += [
                {"source": source, "metric": f"{m}@{cutoff:g}", "value": 0.0, "low": np.nan, "high": np.nan}
                for m in ("cov_r", "cov_p")
            ]
            continue
        from scipy.spatial.distance import cdist

        close = cdist(reference_fp, parsed_fp) <= cutoff  # reference x parsed sample
        recall_draws, precision_draws = [], []
        for _ in range(n_boot):
            pick = rng.integers(0, len(parsed_fp), len(parsed_fp))
            recall_draws.append(close[:, pick].any(axis=1).mean())
            precision_draws.append((gen_to_ref[pick] <= cutoff).mean())
        rows.append({"source": source, "metric": f"cov_r@{cutoff:g}", "value": float(close.any(axis=1).mean())})
        rows[-1] |= {"low": float(np.percentile(recall_draws, 2.5)), "high": float(np.percentile(recall_draws, 97.5))}
        rows.append({"source": source, "metric": f"cov_p@{cutoff:g}", "value": float((gen_to_ref <= cutoff).mean())})
        rows[-1] |= {
            "low": float(np.percentile(precision_draws, 2.5)),
            "high": float(np.percentile(precision_draws, 97.5)),
        }
    tv = total_variation(element_shares(rewards), sft_elements)
    rows.append({"source": source, "metric": "element_tv", "value": tv, "low": np.nan, "high": np.nan})
    return rows


def wide(table: pd.DataFrame, metrics: Sequence[str] | None = None, digits: int = 3) -> pd.DataFrame:
    """One row per source, one ``value [low, high]`` text cell per metric (for Markdown and HTML)."""
    metrics = list(metrics or dict.fromkeys(table["metric"]))
    rows = []
    for source, part in table.groupby("source", sort=False):
        indexed = part.set_index("metric")
        row = {"source": source}
        for metric in metrics:
            if metric not in indexed.index:
                row[metric] = "–"
                continue
            value, low, high = indexed.loc[metric, ["value", "low", "high"]]
            text = "–" if np.isnan(value) else f"{value:.{digits}g}"
            if not (np.isnan(low) or np.isnan(high)):
                text += f" [{low:.{digits}g}, {high:.{digits}g}]"
            row[metric] = text
        rows.append(row)
    return pd.DataFrame(rows, columns=["source", *metrics])


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of a :func:`wide` frame."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


#: Per-round trajectories (``results/metrics/rounds.parquet``): round 0 is the SFT model's samples.
ROUNDS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("round", pa.int64()),
        ("accepted", pa.bool_()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("low", pa.float64()),
        ("high", pa.float64()),
    ]
)

#: Metrics drawn per round; ``cumulative_hits_per_1000_calls`` is the DPO pipeline's ledger up to the round.
ROUND_METRICS = ("all_rules", "mean_reward", "unique_at_100", "element_tv", "cumulative_hits_per_1000_calls")


def round_table(headline: pd.DataFrame, ledgers: Mapping, models: Sequence[str], accepted: Mapping) -> pd.DataFrame:
    """Per model and round: the headline metrics of that round's samples (round 0: SFT), whether the
    round was accepted (``accepted[(model, round)]``), and the DPO pipeline's cumulative hits per
    1,000 calls after it (from the ``{model}-dpo`` ledger, whose step r is round r)."""
    rows = []
    for model in models:
        ledger = ledgers.get(f"{model}-dpo")
        for r in [0, *sorted(r for m, r in accepted if m == model)]:
            source = f"{model}-sft" if r == 0 else f"{model}-dpo_r{r}"
            part = headline[headline["source"] == source].set_index("metric")
            base = {"model": model, "round": r, "accepted": True if r == 0 else bool(accepted[(model, r)])}
            metrics = [*ROUND_METRICS[:-1], *(m for m in part.index if m.startswith("cov_"))]
            for metric in metrics:
                if metric in part.index:
                    rows.append(base | {"metric": metric} | part.loc[metric, ["value", "low", "high"]].to_dict())
            if ledger is not None and r < len(ledger):
                calls, hits = int(ledger["cumulative_calls"].iloc[r]), int(ledger["cumulative_hits"].iloc[r])
                value = 1000.0 * hits / calls if calls else np.nan
                rows.append(base | {"metric": ROUND_METRICS[-1], "value": value, "low": np.nan, "high": np.nan})
    return pd.DataFrame(rows, columns=ROUNDS_SCHEMA.names)
