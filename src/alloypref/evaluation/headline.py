"""Headline metrics of every method, each with a 95 % interval where one holds, and the collapse watch.

Headline table (``results/metrics/headline.parquet``), one row per (source, metric):

=========  =======  ===================================================================
column     dtype    meaning
=========  =======  ===================================================================
source     string   the method (Table 1 source) or a round (``{model}-dpo_r{r}``)
metric     string   see :data:`HEADLINE_METRICS`
value      float64  the metric on the source's samples (or its ledger); for unique@100 and
                    COV-R the median of the draws its interval comes from
low, high  float64  95 % interval (NaN where not defined)
interval   string   how the interval was made: ``bootstrap of samples``, ``bootstrap of
                    calls``, ``fresh batches``, ``subsamples (...)`` or ``none``
=========  =======  ===================================================================

* ``trusted_pairs_per_1000_calls`` (the headline): distinct (BCC, B2) pairs meeting all four rules on
  a database trusted for them, per 1,000 CALPHAD calls over the method's whole ledger
  (:mod:`alloypref.ledger`); ``trusted_systems_per_1000_calls``: their distinct element systems per
  1,000 calls. No interval: a distinct count is not a mean of the calls, and a resample of them
  with replacement undercounts it.
* ``hits_per_1000_calls``: unique candidate triples meeting all four rules (trusted or not; a new
  volume % is a new hit) per 1,000 CALPHAD calls; the interval resamples the called candidates.
* ``calls``, ``hits``, ``trusted_pairs``, ``trusted_systems``: the ledger's totals (no interval).
* ``samples``: the number of the source's samples (rows of its rewards table), the denominator of
  ``all_rules`` and ``mean_reward`` (:mod:`alloypref.evaluation.verdict` tests differences with it).
* ``all_rules``, ``mean_reward``: as in Table 1, intervals resample samples.
* ``unique_at_100``, ``cov_r@c`` (COV-R at fingerprint cutoff c): set-valued, so never a bootstrap
  of samples: over the model's fresh batches when ``evaluation.fresh_batches`` > 0, else over
  subsamples without replacement (unique@100) or none (COV-R); :mod:`alloypref.evaluation.set_metrics`.
* ``cov_p@c``: COV-P (parsed) at cutoff c, a mean over parsed samples: the interval resamples them.
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
from alloypref.evaluation.labels import metric_label
from alloypref.evaluation.metrics import master_fractions, nearest_distances
from alloypref.evaluation.set_metrics import (
    BOOTSTRAP,
    FRESH,
    NONE,
    SUBSAMPLE,
    median_interval,
    pair_codes,
    recall,
    subsampled_unique,
    unique_share,
)
from alloypref.ledger import hits_per_1000

HEADLINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("low", pa.float64()),
        ("high", pa.float64()),
        ("interval", pa.string()),
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
    "samples",
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
    """unique@100's (BCC, B2) key code of each parsed row of a rewards table, in row order."""
    return pair_codes(rewards[rewards["master_composition"] != ""])


def _row(source: str, metric: str, value: float, low: float = np.nan, high: float = np.nan, interval: str = NONE):
    return {"source": source, "metric": metric, "value": value, "low": low, "high": high, "interval": interval}


def ledger_rows_of(source: str, ledger: pd.DataFrame, n_boot: int, seed: int) -> list[dict]:
    """Trusted pairs and systems per 1,000 calls, hits per 1,000 calls with its interval, and the
    ledger's totals (module doc)."""
    calls, hits = int(ledger["calls"].sum()), int(ledger["hits"].sum())
    flags = np.r_[np.ones(hits), np.zeros(calls - hits)]
    low, high = bootstrap_interval(flags, lambda f: 1000.0 * f.mean(), n_boot, seed)
    rows = [
        _row(source, f"{count}_per_1000_calls", hits_per_1000(ledger, count))
        for count in ("trusted_pairs", "trusted_systems")
    ]
    rows.append(_row(source, "hits_per_1000_calls", hits_per_1000(ledger), low, high, "bootstrap of calls"))
    rows += [
        _row(source, count, float(ledger[count].sum()))
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
    fresh: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> list[dict]:
    """The sample-based headline metrics of one source with their 95 % intervals. ``fresh``: the
    model's fresh batches, each as (pair key codes, fingerprints) of its parsed samples
    (:func:`fresh_batch`); with them unique@100 and COV-R take their intervals over batches,
    without them over subsamples (unique@100) or none (COV-R): :mod:`alloypref.evaluation.set_metrics`."""
    rows = [_row(source, "samples", float(len(rewards)))]
    hits = hit_flags(rewards)
    reward = scored_rewards(rewards, worst)
    for name, values in (("all_rules", hits), ("mean_reward", reward)):
        low, high = bootstrap_interval(values, np.mean, n_boot, seed)
        rows.append(_row(source, name, float(values.mean()) if len(values) else np.nan, low, high, BOOTSTRAP))
    rng = np.random.default_rng(seed)
    batches = [(_pair_keys(rewards), parsed_fp), *fresh]  # the source's own batch first
    if fresh:
        draws, method = [unique_share(codes) for codes, _ in batches], FRESH
    else:
        draws, method = subsampled_unique(batches[0][0], rng, n_boot), SUBSAMPLE
    value, low, high = median_interval(draws)
    rows.append(_row(source, "unique_at_100", value, low, high, method))
    rows.append(_row(source, "best_reward", float(reward.max()) if len(reward) else np.nan))
    from scipy.spatial.distance import cdist

    # coverage: distances once per batch and cutoff; COV-P, a mean over samples, resamples them
    gen_to_ref, _ = nearest_distances(parsed_fp, reference_fp)
    for cutoff in cutoffs:
        recalls = [recall(cdist(reference_fp, fp) <= cutoff) if len(fp) else 0.0 for _, fp in batches]
        if fresh:
            rows.append(_row(source, f"cov_r@{cutoff:g}", *median_interval(recalls), FRESH))
        else:
            rows.append(_row(source, f"cov_r@{cutoff:g}", recalls[0]))
        if len(parsed_fp) == 0:
            rows.append(_row(source, f"cov_p@{cutoff:g}", 0.0))
            continue
        near = (gen_to_ref <= cutoff).astype(float)
        low, high = bootstrap_interval(near, np.mean, n_boot, seed)
        rows.append(_row(source, f"cov_p@{cutoff:g}", float(near.mean()), low, high, BOOTSTRAP))
    tv = total_variation(element_shares(rewards), sft_elements)
    rows.append(_row(source, "element_tv", tv))
    return rows


def fresh_batch(samples: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(pair key codes, fingerprints) of the parsed samples of one fresh batch (a samples table,
    ``alloypref.completion.parsing.SAMPLES_SCHEMA``): parsed as the scorer would, status ``ok`` and
    a master composition that forms."""
    from alloypref.evaluation.fingerprints import fingerprints

    ok = samples[samples["status"] == "ok"].assign(master_composition="x")
    masters = master_fractions(ok)
    kept = ok[[m is not None for m in masters]]
    formed = [m for m in masters if m is not None]
    return pair_codes(kept), fingerprints(formed) if formed else np.empty((0, 0))


def split_batches(fresh: pd.DataFrame) -> list[pd.DataFrame]:
    """The batches of a fresh-samples table (column ``batch``), in batch order."""
    return [part for _, part in fresh.groupby("batch", sort=True)]


def interval_text(value: float, low: float = np.nan, high: float = np.nan, digits: int = 3) -> str:
    """``value [low, high]`` to ``digits`` significant digits; ``value`` alone without an interval,
    "–" for a missing value."""
    if np.isnan(value):
        return "–"
    text = f"{value:.{digits}g}"
    if not (np.isnan(low) or np.isnan(high)):
        text += f" [{low:.{digits}g}, {high:.{digits}g}]"
    return text


def wide(
    table: pd.DataFrame, metrics: Sequence[str] | None = None, digits: int = 3, labels: bool = False
) -> pd.DataFrame:
    """One row per source, one ``value [low, high]`` text cell per metric (for Markdown and HTML);
    with ``labels`` the columns carry the reader's names and units (:func:`metric_label`)."""
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
            row[metric] = interval_text(value, low, high, digits)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["source", *metrics])
    if labels:
        frame = frame.rename(columns={"source": "Source", **{m: metric_label(m) for m in metrics}})
    return frame


def interval_legend(table: pd.DataFrame) -> str:
    """One sentence naming how each metric's interval was made (the table's ``interval`` column),
    with the sources of each method where a metric's sources differ; metrics with no interval for
    any source are left out; metrics by the reader's names (:func:`metric_label`). Example: "Intervals
    (95 %): All 4 rules (share): bootstrap of samples; Unique pairs @100 (share): fresh batches
    (tiny-sft), subsamples (...) (random)."."""
    parts = []
    for metric, part in table.groupby("metric", sort=False):
        if (part["interval"] == NONE).all():
            continue
        by_method = part.groupby("interval", sort=False)["source"].apply(list)
        name = metric_label(metric)
        if len(by_method) == 1:
            parts.append(f"{name}: {by_method.index[0]}")
        else:
            parts.append(f"{name}: " + ", ".join(f"{m} ({', '.join(s)})" for m, s in by_method.items()))
    return "Intervals (95 %): " + ("; ".join(parts) if parts else "none") + "."


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
