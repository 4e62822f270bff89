"""Finished runs side by side (``alloypref side-by-side RESULTS ...``): the headline numbers of every
source of each run, with their 95 % intervals, how each source's samples failed to parse, and which
elements its parsed samples use. Read from a run's artifacts only (``metrics/headline.parquet``,
``triples/<source>.parquet``, ``scores/<source>/rewards.parquet``), so runs of different configs and
models (the embedded default, ``config/smol.yaml``) compare as they were made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alloypref.evaluation.drift import element_shares
from alloypref.evaluation.headline import interval_text, markdown
from alloypref.evaluation.labels import metric_label

#: Headline metrics shown side by side, in this order (parse rate is added before them).
HEADLINE_METRICS = ("trusted_pairs_per_1000_calls", "hits_per_1000_calls", "all_rules", "unique_at_100", "samples")
#: Parse statuses of ``alloypref.completion.parsing``, in the order the format table shows them.
STATUSES = ("ok", "malformed", "unparseable", "invalid_formula", "unknown_element", "volume_out_of_range")


class RunError(ValueError):
    """A results folder that lacks what the comparison reads."""


def _read(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise RunError(f"{path} does not exist: {what} (run the workflow to its end first)")
    return pd.read_parquet(path)


def _headline(results: Path) -> pd.DataFrame:
    return _read(results / "metrics" / "headline.parquet", "the headline table, rule headline")


def _triples(results: Path, source: str) -> pd.DataFrame:
    return _read(results / "triples" / f"{source}.parquet", f"the parsed samples of {source}")


def parse_rate(statuses: pd.Series) -> tuple[float, float, float]:
    """Share of samples that parse into a triple (status ``ok``), with its 95 % Wilson score interval."""
    from scipy.stats import binomtest

    n = len(statuses)
    if n == 0:
        return np.nan, np.nan, np.nan
    k = int((statuses == "ok").sum())
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return k / n, float(interval.low), float(interval.high)


def headline_side_by_side(runs: Sequence[Path]) -> pd.DataFrame:
    """One row per (run, source): parse rate (Wilson interval) and :data:`HEADLINE_METRICS` as the
    run's headline table has them (``value [low, high]``; no interval where the metric has none)."""
    rows = []
    for results in map(Path, runs):
        headline = _headline(results)
        for source, part in headline.groupby("source", sort=False):
            indexed = part.set_index("metric")
            row = {
                "Run": str(results),
                "Source": source,
                "Parse rate (share)": interval_text(*parse_rate(_triples(results, source)["parse_status"])),
            }
            for metric in HEADLINE_METRICS:
                if metric in indexed.index:
                    value, low, high = indexed.loc[metric, ["value", "low", "high"]]
                    row[metric_label(metric)] = interval_text(value, low, high)
                else:
                    row[metric_label(metric)] = "–"
            rows.append(row)
    return pd.DataFrame(rows)


def _reason_kind(reason: str) -> str:
    """A parse failure's reason with its particulars (formulas, numbers) elided, to count kinds."""
    return re.sub(r"(?<![A-Za-z])\d+(?:\.\d+)?", "N", re.sub(r"'[^']*'", "…", reason))


def format_errors(runs: Sequence[Path]) -> pd.DataFrame:
    """One row per (run, source): samples, the count of each parse status, and the most frequent
    kind of failure with its count."""
    rows = []
    for results in map(Path, runs):
        for source in dict.fromkeys(_headline(results)["source"]):
            triples = _triples(results, source)
            counts = triples["parse_status"].value_counts()
            row = {"Run": str(results), "Source": source, "Samples": len(triples)}
            row.update({status: int(counts.get(status, 0)) for status in STATUSES})
            failed = triples.loc[triples["parse_status"] != "ok", "parse_reason"].map(_reason_kind)
            top = failed.value_counts()
            row["Most frequent failure"] = f"{top.index[0]} ({top.iloc[0]})" if len(top) else "–"
            rows.append(row)
    return pd.DataFrame(rows)


def element_preferences(runs: Sequence[Path]) -> pd.DataFrame:
    """One row per (run, source): each element's share (%) of the element occurrences of parsed
    samples (BCC and B2, an element counted once per sample; :func:`element_shares`)."""
    rows = []
    for results in map(Path, runs):
        for source in dict.fromkeys(_headline(results)["source"]):
            rewards = _read(results / "scores" / source / "rewards.parquet", f"the scores of {source}")
            shares = element_shares(rewards)
            rows.append({"Run": str(results), "Source": source, **{e: 100 * s for e, s in shares.items()}})
    frame = pd.DataFrame(rows)
    elements = sorted(c for c in frame.columns if c not in ("Run", "Source"))
    return frame[["Run", "Source", *elements]].fillna(0.0).round(1)


def report(runs: Sequence[Path]) -> str:
    """The three tables as Markdown, each under a heading."""
    return "\n".join(
        [
            "Headline (95 % intervals: parse rate Wilson; the others as each run's headline table states)\n",
            markdown(headline_side_by_side(runs)),
            "Parse status of the samples (counts)\n",
            markdown(format_errors(runs)),
            "Elements of parsed samples (% of element occurrences, BCC and B2)\n",
            markdown(element_preferences(runs)),
        ]
    )
