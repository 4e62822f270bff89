"""Replicates: the same methods over several training seeds, each metric pooled as a mean with a
between-seed interval.

``replicates.seeds: [s1, s2, ...]`` (config/replicates.yaml) turns every model of the registry into
one model per seed, ``{model}_s{seed}`` (:func:`expand_models`), whose ``seed`` key
(``models.<name>.seed``) replaces the global seed in everything stochastic downstream of the design
space: SFT training, every sampling stream, DPO pairs and rounds, GRPO, the best-of-N pool and the
budget-matched random pool. The ``{model}`` wildcard is thus the seed wildcard: each seed's branch,
SFT to its metric rows, is a set of jobs of its own (its files under ``models/{model}_s{seed}/``,
``samples/...``, ``scores/{model}_s{seed}-<stage>/``, ``ledger/...``, ``metrics/{model}_s{seed}/``),
and the design space (curation, SFT triples), the example triples and the run-wide random search,
which no training seed touches, are computed once.

Rule ``replicates`` gathers the per-seed rows of Table 1 and the headline table
(:func:`pool`): per method (the source with its seed suffix removed, e.g. ``tiny-dpo``) and metric,
the number of seeds, the mean, the between-seed standard deviation and a Student-t 95 % interval
of the mean over seeds (mean +- t(0.975, k - 1) sd / sqrt(k)); a source that no seed replicates
(the random search) has one value and no interval.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

#: The pooled table (``metrics/replicates.parquet``): one row per (table, method, metric).
REPLICATES_SCHEMA = pa.schema(
    [
        ("table", pa.string()),  # "table1" or "headline"
        ("source", pa.string()),  # the method: a source without its seed suffix
        ("metric", pa.string()),
        ("seeds", pa.int64()),  # seeds with a finite value
        ("mean", pa.float64()),
        ("sd", pa.float64()),  # between-seed standard deviation (ddof 1)
        ("low", pa.float64()),  # Student-t 95 % interval of the mean over seeds
        ("high", pa.float64()),
        ("values", pa.string()),  # the per-seed values, "seed: value" in seed order
    ]
)


class ReplicatesError(ValueError):
    """A replicates config that cannot be expanded (a name taken, a seed set twice)."""


def replicate_name(model: str, seed: int) -> str:
    """The model of one seed's branch: ``{model}_s{seed}``."""
    return f"{model}_s{seed}"


def expand_models(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each model replaced by one per seed of ``replicates.seeds`` (unchanged when the
    list is empty or absent), ``grpo.models`` and ``baselines.api.*.exemplars_from`` following.

    Raises:
        ReplicatesError: a model that sets its own ``seed``, or a replicate name already a model's.
    """
    seeds = list((config.get("replicates") or {}).get("seeds") or [])
    if not seeds:
        return dict(config)
    out = copy.deepcopy(dict(config))
    models: dict[str, Any] = {}
    for name, entry in config["models"].items():
        if "seed" in entry:
            raise ReplicatesError(
                f"config key models.{name}.seed: replicates.seeds sets every model's seed; drop one of the two"
            )
        for seed in seeds:
            replicate = replicate_name(name, seed)
            if replicate in config["models"]:
                raise ReplicatesError(
                    f"config key models.{replicate}: the name is taken by replicate {seed} of model {name!r}"
                )
            models[replicate] = {**copy.deepcopy(entry), "seed": seed}
    out["models"] = models
    grpo = out.get("grpo") or {}
    if grpo.get("models"):
        grpo["models"] = [replicate_name(m, seed) for m in grpo["models"] for seed in seeds]
    for entry in ((out.get("baselines") or {}).get("api") or {}).values():
        origin = entry.get("exemplars_from")
        if origin and "-" in origin:  # a model source: the first seed's samples
            model, _, stage = origin.rpartition("-")
            if model in config["models"]:
                entry["exemplars_from"] = f"{replicate_name(model, seeds[0])}-{stage}"
    return out


def replicate_models(config: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Each replicate model of an expanded config and its (model, seed); empty without replicates."""
    seeds = list((config.get("replicates") or {}).get("seeds") or [])
    out = {}
    for name, entry in config["models"].items():
        for seed in seeds:
            base = name.removesuffix(f"_s{seed}")
            if entry.get("seed") == seed and base != name:
                out[name] = (base, seed)
    return out


def split_source(source: str, replicates: Mapping[str, tuple[str, int]]) -> tuple[str, int | None]:
    """(method, seed) of a source name given :func:`replicate_models`: ``tiny_s3-dpo`` ->
    (``tiny-dpo``, 3); a source of no replicate (``random``) -> (source, None)."""
    model, dash, stage = source.rpartition("-")
    if not dash or model not in replicates:
        return source, None
    base, seed = replicates[model]
    return f"{base}-{stage}", seed


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of ``values`` (NaN left out): the Student-t interval of their mean; sd
    and the interval are NaN for fewer than two values."""
    from scipy import stats

    x = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(x) == 0:
        return (np.nan, np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return (mean, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * sd / np.sqrt(len(x))
    return (mean, sd, mean - half, mean + half)


def pool(long: pd.DataFrame, replicates: Mapping[str, tuple[str, int]]) -> pd.DataFrame:
    """Pool a long table of per-source metric values (columns ``table``, ``source``, ``metric``,
    ``value``) over the seeds of ``replicates`` (:func:`replicate_models`): :data:`REPLICATES_SCHEMA`,
    in the order the methods and metrics first appear."""
    if long.empty:
        return pd.DataFrame(columns=REPLICATES_SCHEMA.names)
    split = long["source"].map(lambda source: split_source(source, replicates))
    frame = long.assign(method=split.map(lambda s: s[0]), seed=split.map(lambda s: s[1]))
    rows = []
    for (table, method, metric), part in frame.groupby(["table", "method", "metric"], sort=False):
        part = part.sort_values("seed", na_position="first")
        mean, sd, low, high = t_interval(part["value"].to_numpy(dtype=float))
        listing = ", ".join(
            f"{'-' if pd.isna(seed) else int(seed)}: {value:.4g}" for seed, value in zip(part["seed"], part["value"])
        )
        rows.append(
            {
                "table": table,
                "source": method,
                "metric": metric,
                "seeds": int(np.isfinite(part["value"].to_numpy(dtype=float)).sum()),
                "mean": mean,
                "sd": sd,
                "low": low,
                "high": high,
                "values": listing,
            }
        )
    return pd.DataFrame(rows, columns=REPLICATES_SCHEMA.names)


def long_table1(table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 (``alloypref.evaluation.metrics.METRICS_SCHEMA``) as (table, source, metric, value) rows."""
    numeric = [c for c in table1.columns if c != "source"]
    long = table1.melt(id_vars="source", value_vars=numeric, var_name="metric", value_name="value")
    return long.assign(table="table1", value=long["value"].astype(float))[["table", "source", "metric", "value"]]


def long_headline(headline: pd.DataFrame) -> pd.DataFrame:
    """The headline table as (table, source, metric, value) rows."""
    return headline.assign(table="headline")[["table", "source", "metric", "value"]]


def markdown(pooled: pd.DataFrame, digits: int = 3) -> str:
    """One Markdown table per pooled table: method, metric, seeds, mean [95 % t-interval], sd."""
    lines = []
    for table, part in pooled.groupby("table", sort=False):
        lines += [f"### {table}", ""]
        if table == "targets":  # alloypref.evaluation.matched_calls.targets
            lines += [
                "Ratios per seed, pooled as a geometric mean with the t-interval of the mean log ratio; "
                "sd is the log ratios'; per seed: numerator/denominator.",
                "",
            ]
        lines += ["| method | metric | seeds | mean [95 % interval over seeds] | sd | per seed |"]
        lines.append("|---|---|---|---|---|---|")
        for row in part.itertuples(index=False):
            cell = "–" if np.isnan(row.mean) else f"{row.mean:.{digits}g}"
            if not np.isnan(row.low):
                cell += f" [{row.low:.{digits}g}, {row.high:.{digits}g}]"
            sd = "–" if np.isnan(row.sd) else f"{row.sd:.{digits}g}"
            lines.append(f"| {row.source} | {row.metric} | {row.seeds} | {cell} | {sd} | {row.values} |")
        lines.append("")
    return "\n".join(lines)
