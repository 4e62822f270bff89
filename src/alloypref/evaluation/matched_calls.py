"""Methods compared at matched CALPHAD calls: every method of a model cut to the same call budget.

Distinct hits saturate: a method that spends more calls finds more distinct pairs whatever it
learnt, and one that spends fewer looks better per call. So each method of a model — its iterative
DPO pipeline (SFT samples, then each round), GRPO (training, then its samples) and the
budget-matched best-of-N and random baselines — is read off its discovery curve
(:func:`alloypref.ledger.discovery_curve`) at one budget: the fewest calls any of them spent in all.

Matched-calls table (``results/metrics/matched_calls.parquet``), one row per compared source:

===============  =======  ==============================================================
column           dtype    meaning
===============  =======  ==============================================================
model            string   the model whose methods are compared
source           string   the method (``{model}-dpo``, ``{model}-grpo``, ``{model}-bestofn``, ...)
budget           int64    the model's matched budget: the fewest calls one of its methods spent
calls            int64    calls the method had spent at its last candidate within the budget
hits             int64    unique all-rules candidates found within the budget
trusted_pairs    int64    distinct trusted (BCC, B2) pairs found within the budget
trusted_systems  int64    their distinct element systems
total_calls      int64    every call of the method (its whole ledger)
===============  =======  ==============================================================

Over replicates (:func:`targets`), the preference methods are compared with best-of-N of the same
SFT model seed by seed: the ratio of trusted pairs at matched calls, pooled as a geometric mean with
a Student-t 95 % interval of the mean log ratio over seeds; and unique@100 against SFT's the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref import sources as source_registry
from alloypref.ledger import CURVE_COLUMNS, at_calls
from alloypref.replicates import REPLICATES_SCHEMA, t_interval

MATCHED_CALLS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("source", pa.string()),
        ("budget", pa.int64()),
        ("calls", pa.int64()),
        ("hits", pa.int64()),
        ("trusted_pairs", pa.int64()),
        ("trusted_systems", pa.int64()),
        ("total_calls", pa.int64()),
    ]
)

#: The stages of a model compared at matched calls: the preference methods, then the baselines.
PREFERENCE_STAGES = (source_registry.DPO, source_registry.GRPO)
BASELINE_STAGE = source_registry.BESTOFN
COMPARED_STAGES = (*PREFERENCE_STAGES, *source_registry.BUDGET_KINDS)


def compared_sources(model: str, evaluated: Sequence[str]) -> list[str]:
    """The sources of ``model`` among ``evaluated`` that are compared at matched calls."""
    wanted = [source_registry.model_source(model, stage) for stage in COMPARED_STAGES]
    return [source for source in wanted if source in evaluated]


def matched_table(curves: Mapping[str, pd.DataFrame], models: Sequence[str]) -> pd.DataFrame:
    """The matched-calls table (module doc) from each compared source's discovery curve; a model
    with fewer than two compared sources has no row."""
    rows = []
    for model in models:
        sources = compared_sources(model, list(curves))
        if len(sources) < 2:
            continue
        totals = {source: int(curves[source]["calls"].iloc[-1]) if len(curves[source]) else 0 for source in sources}
        budget = min(totals.values())
        for source in sources:
            counts = at_calls(curves[source], budget)
            rows.append({"model": model, "source": source, "budget": budget, **counts, "total_calls": totals[source]})
    frame = pd.DataFrame(rows, columns=MATCHED_CALLS_SCHEMA.names)
    ints = ["budget", *CURVE_COLUMNS, "total_calls"]
    return frame.astype(dict.fromkeys(ints, "int64"))


def markdown(table: pd.DataFrame) -> str:
    """The matched-calls table in Markdown, one block per model."""
    lines = []
    for model, part in table.groupby("model", sort=False):
        budget = int(part["budget"].iloc[0])
        lines += [f"### {model}: every method cut to {budget} CALPHAD calls", ""]
        lines += ["| method | calls used | all-rules hits | trusted distinct pairs | trusted systems | calls in all |"]
        lines.append("|---|---|---|---|---|---|")
        for row in part.itertuples(index=False):
            lines.append(
                f"| {row.source} | {row.calls} | {row.hits} | {row.trusted_pairs} | {row.trusted_systems} "
                f"| {row.total_calls} |"
            )
        lines.append("")
    return "\n".join(lines)


def long_matched(table: pd.DataFrame) -> pd.DataFrame:
    """The matched-calls table as (table, source, metric, value) rows for :func:`alloypref.replicates.pool`."""
    counts = ["budget", *CURVE_COLUMNS]
    long = table.melt(id_vars="source", value_vars=counts, var_name="metric", value_name="value")
    return long.assign(table="matched_calls", value=long["value"].astype(float))[["table", "source", "metric", "value"]]


def log_ratio_interval(ratios: Sequence[float], level: float = 0.95) -> tuple[float, float, float, float]:
    """(geometric mean, sd of the log ratios, low, high) of positive finite ``ratios``: the
    Student-t interval of the mean log ratio over seeds, exponentiated. NaN where it is not defined
    (no ratio; sd and interval need two)."""
    logs = [float(np.log(r)) for r in ratios if np.isfinite(r) and r > 0]
    mean, sd, low, high = t_interval(logs, level)
    return float(np.exp(mean)), sd, float(np.exp(low)), float(np.exp(high))


def _ratio_row(method: str, metric: str, per_seed: list[tuple[int, float, float]]) -> dict:
    ratios = [a / b if b > 0 and a > 0 else np.nan for _, a, b in per_seed]
    mean, sd, low, high = log_ratio_interval(ratios)
    return {
        "table": "targets",
        "source": method,
        "metric": metric,
        "seeds": int(np.isfinite(ratios).sum()),
        "mean": mean,
        "sd": sd,
        "low": low,
        "high": high,
        "values": ", ".join(f"{seed}: {a:.4g}/{b:.4g}" for seed, a, b in per_seed),
    }


def targets(matched: pd.DataFrame, headline: pd.DataFrame, replicates: Mapping[str, tuple[str, int]]) -> pd.DataFrame:
    """Issue-style targets over seeds, as rows of :data:`alloypref.replicates.REPLICATES_SCHEMA` with
    ``table`` ``targets``: for each preference method of each base model, (a) its trusted distinct
    pairs at matched calls over best-of-N's, and (b) its unique@100 over SFT's, each seed's ratio
    pooled as a geometric mean with a t-interval of the mean log ratio (``values``: "seed: a/b").
    A seed where either count is 0 has no finite ratio and is left out of the pool (``seeds``)."""
    unique = headline[headline["metric"] == "unique_at_100"].set_index("source")["value"]
    pairs = matched.set_index("source")["trusted_pairs"]
    by_base: dict[str, list[tuple[str, int]]] = {}
    for replicate, (base, seed) in sorted(replicates.items(), key=lambda item: (item[1][0], item[1][1])):
        by_base.setdefault(base, []).append((replicate, seed))
    rows = []
    for base, members in by_base.items():
        for stage in PREFERENCE_STAGES:
            method = source_registry.model_source(base, stage)
            versus = source_registry.model_source(base, BASELINE_STAGE)
            per_pairs, per_unique = [], []
            for replicate, seed in members:
                mine = source_registry.model_source(replicate, stage)
                if mine not in pairs.index:
                    continue
                baseline = source_registry.model_source(replicate, BASELINE_STAGE)
                if baseline in pairs.index:
                    per_pairs.append((seed, float(pairs[mine]), float(pairs[baseline])))
                sft = source_registry.model_source(replicate, source_registry.SFT)
                if mine in unique.index and sft in unique.index:
                    per_unique.append((seed, float(unique[mine]), float(unique[sft])))
            if per_pairs:
                rows.append(_ratio_row(f"{method} / {versus}", "trusted_pairs_ratio_at_matched_calls", per_pairs))
            if per_unique:
                sft_method = source_registry.model_source(base, source_registry.SFT)
                rows.append(_ratio_row(f"{method} / {sft_method}", "unique_at_100_ratio", per_unique))
    return pd.DataFrame(rows, columns=REPLICATES_SCHEMA.names)
