"""The run's verdict: which method beats which baseline on which metric, in the words its 95 %
interval allows, computed from the metric tables alone (the headline table, the per-round table and
each model's win/draw/loss table).

For every model of the run (a source ``{model}-sft`` in the headline table):

=============================  =============================  =========================================
method                         against                        metric (test)
=============================  =============================  =========================================
DPO (final policy), every DPO  SFT (``{model}-sft``)          all-4-rules share (difference of shares,
round, GRPO                                                   bootstrap of samples); unique pairs @100
                                                              (95 % intervals apart, fresh batches only)
DPO (final policy)             SFT's whole scored stream      reward, sample against sample:
                                                              P(win) − P(loss) (rule ``compare``)
DPO, GRPO (the sources with    best-of-N and random search    hits per 1,000 CALPHAD calls (difference
a ledger)                      at DPO's budget                of rates, bootstrap of calls); trusted
                                                              pairs per 1,000 calls (no interval)
=============================  =============================  =========================================

Outcomes (every metric here is better when higher): **beats** only when the 95 % interval of the
difference (method minus baseline) lies above 0, **trails** when it lies below, **not
distinguishable** when it holds 0, **not tested** when there is no interval (the note says why: a
count of distinct pairs, subsample intervals, a baseline or a count the run does not have).

A difference of shares (or of rates per call) resamples the two counts independently (binomial
draws, the same as resampling the 0/1 flags with replacement) and takes the 2.5 and 97.5 percentiles.
The DPO pipeline's and best-of-N's ledgers both start with the SFT samples' calls: resampled as
independent, their difference looks noisier than it is, so a "beats" there errs on the safe side.
unique@100 is set-valued: only intervals over fresh batches (``evaluation.fresh_batches`` > 0)
measure its noise, and then the outcome needs the two intervals apart (a conservative test).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.evaluation.labels import metric_label
from alloypref.evaluation.set_metrics import FRESH
from alloypref.sources import BUDGET_KINDS, DPO, GRPO, ROUND_PREFIX, SFT, model_source, source_label

BEATS, TRAILS, EVEN, UNTESTED = "beats", "trails", "not distinguishable", "not tested"

#: Columns of the verdict table (``results/metrics/verdict.parquet``): one row per (method, baseline,
#: metric); values in the metric's unit (difference: method minus baseline), low/high its 95 % interval.
FINDING_COLUMNS = [
    "model",
    "method",
    "baseline",
    "metric",
    "method_value",
    "baseline_value",
    "difference",
    "low",
    "high",
    "outcome",
    "note",
]

VERDICT_SCHEMA = pa.schema(
    [(name, pa.string()) for name in FINDING_COLUMNS[:4]]
    + [(name, pa.float64()) for name in FINDING_COLUMNS[4:9]]
    + [(name, pa.string()) for name in FINDING_COLUMNS[9:]]
)

#: The win/draw/loss test's metric name in the verdict table.
WIN_MINUS_LOSS = "reward_win_minus_loss"

#: How the verdict's sentences name each metric.
PHRASES = {
    "all_rules": "the all-4-rules share",
    "unique_at_100": "unique pairs @100",
    WIN_MINUS_LOSS: "reward over all sample pairs (P(win) − P(loss))",
    "hits_per_1000_calls": "hits per 1,000 CALPHAD calls",
    "trusted_pairs_per_1000_calls": "distinct trusted pairs per 1,000 calls",
}


def outcome(low: float, high: float) -> str:
    """The word a 95 % interval [low, high] of a difference (method minus baseline) allows."""
    if np.isnan(low) or np.isnan(high):
        return UNTESTED
    if low > 0:
        return BEATS
    if high < 0:
        return TRAILS
    return EVEN


def share_difference(
    k_a: int, n_a: int, k_b: int, n_b: int, n_boot: int = 2000, seed: int = 0, scale: float = 1.0
) -> tuple[float, float, float]:
    """``scale`` × (k_a / n_a − k_b / n_b) and its percentile 95 % interval, the two counts resampled
    independently (binomial draws). ``scale`` 1,000 gives a difference per 1,000 calls."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError(f"a share needs a positive count of trials: got n_a={n_a}, n_b={n_b}")
    rng = np.random.default_rng(seed)
    a = rng.binomial(n_a, k_a / n_a, n_boot) / n_a
    b = rng.binomial(n_b, k_b / n_b, n_boot) / n_b
    low, high = np.percentile(scale * (a - b), [2.5, 97.5])
    return scale * (k_a / n_a - k_b / n_b), float(low), float(high)


def _row(model, method, baseline, metric, a=np.nan, b=np.nan, diff=np.nan, low=np.nan, high=np.nan, note=""):
    return {
        "model": model,
        "method": method,
        "baseline": baseline,
        "metric": metric,
        "method_value": a,
        "baseline_value": b,
        "difference": diff,
        "low": low,
        "high": high,
        "outcome": outcome(low, high),
        "note": note,
    }


class _Headline:
    """Lookups in the headline table (``alloypref.evaluation.headline.HEADLINE_SCHEMA``)."""

    def __init__(self, table: pd.DataFrame):
        self.table = table.set_index(["source", "metric"])
        self.sources = list(dict.fromkeys(table["source"]))

    def value(self, source: str, metric: str) -> float:
        return float(self.table.loc[(source, metric), "value"]) if (source, metric) in self.table.index else np.nan

    def row(self, source: str, metric: str):
        return self.table.loc[(source, metric)] if (source, metric) in self.table.index else None


def _share_row(headline: _Headline, model, method, baseline, metric, n_boot, seed) -> dict:
    """A difference of all-rules shares, or of hits per 1,000 calls (counts: hits of calls)."""
    a, b = headline.value(method, metric), headline.value(baseline, metric)
    if metric == "hits_per_1000_calls":
        counts = [(headline.value(s, "hits"), headline.value(s, "calls")) for s in (method, baseline)]
        scale, missing = 1000.0, "the ledger's hits or calls"
    else:
        counts = [
            (headline.value(s, metric) * headline.value(s, "samples"), headline.value(s, "samples"))
            for s in (method, baseline)
        ]
        scale, missing = 1.0, "the sample count (headline metric 'samples', written since the verdict was added)"
    if any(np.isnan(k) or np.isnan(n) or n <= 0 for k, n in counts):
        return _row(model, method, baseline, metric, a, b, a - b, note=f"no interval: {missing} is not in the table")
    (k_a, n_a), (k_b, n_b) = ((round(k), round(n)) for k, n in counts)
    diff, low, high = share_difference(k_a, n_a, k_b, n_b, n_boot, seed, scale)
    how = "bootstrap of calls" if metric == "hits_per_1000_calls" else "bootstrap of samples"
    return _row(model, method, baseline, metric, a, b, diff, low, high, f"{how}: {k_a}/{n_a} against {k_b}/{n_b}")


def _unique_row(headline: _Headline, model, method, baseline) -> dict:
    """unique@100: judged only when both intervals come from fresh batches, by the intervals being apart."""
    metric = "unique_at_100"
    mine, theirs = headline.row(method, metric), headline.row(baseline, metric)
    if mine is None or theirs is None:
        return _row(model, method, baseline, metric, note="unique@100 is not in the table")
    row = _row(model, method, baseline, metric, mine["value"], theirs["value"], mine["value"] - theirs["value"])
    if not (mine["interval"] == FRESH and theirs["interval"] == FRESH):
        row["note"] = (
            "no interval of its sampling noise: subsample intervals understate it, "
            "evaluation.fresh_batches > 0 draws the fresh batches that measure it"
        )
        return row
    if mine["low"] > theirs["high"]:
        row["outcome"] = BEATS
    elif mine["high"] < theirs["low"]:
        row["outcome"] = TRAILS
    else:
        row["outcome"] = EVEN
    row["note"] = (
        f"95 % intervals over fresh batches [{mine['low']:.3g}, {mine['high']:.3g}] against "
        f"[{theirs['low']:.3g}, {theirs['high']:.3g}] ({'overlapping' if row['outcome'] == EVEN else 'apart'})"
    )
    return row


def _win_minus_loss_row(model: str, method: str, baseline: str, wdl: pd.DataFrame | None) -> dict:
    if wdl is None:
        return _row(model, method, baseline, WIN_MINUS_LOSS, note="no win/draw/loss table for this model")
    row = wdl.set_index("outcome").loc["win - loss"]
    return _row(
        model,
        method,
        baseline,
        WIN_MINUS_LOSS,
        diff=float(row["share"]),
        low=float(row["low"]),
        high=float(row["high"]),
        note=f"every DPO sample against every sample of the SFT model's whole scored stream ({int(row['n'])} pairs)",
    )


def _trusted_pairs_row(headline: _Headline, model, method, baseline) -> dict:
    metric = "trusted_pairs_per_1000_calls"
    a, b = headline.value(method, metric), headline.value(baseline, metric)
    pairs = (headline.value(method, "trusted_pairs"), headline.value(baseline, "trusted_pairs"))
    counts = "" if np.isnan(pairs).any() else f"; {pairs[0]:.0f} against {pairs[1]:.0f} distinct pairs"
    note = "no interval: a count of distinct pairs is not a mean over calls" + counts
    return _row(model, method, baseline, metric, a, b, a - b, note=note)


def _round_number(source: str) -> int | None:
    stage = source.rpartition("-")[2]
    number = stage[len(ROUND_PREFIX) :]
    return int(number) if stage.startswith(ROUND_PREFIX) and number.isdigit() else None


def findings(
    headline: pd.DataFrame,
    win_draw_loss: Mapping[str, pd.DataFrame],
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The verdict table (:data:`FINDING_COLUMNS`) of every model in ``headline`` (the headline table)
    with ``win_draw_loss[model]`` (rule ``compare``'s table; a model without one gets "not tested")."""
    table = _Headline(headline)
    rows = []
    models = [s[: -len(SFT) - 1] for s in table.sources if s.endswith(f"-{SFT}")]
    for model in models:
        sft = model_source(model, SFT)
        rounds = sorted(
            (s for s in table.sources if s.startswith(f"{model}-") and _round_number(s) is not None),
            key=_round_number,
        )
        methods = [model_source(model, DPO), *rounds, model_source(model, GRPO)]
        for method in (m for m in methods if m in table.sources):
            rows.append(_share_row(table, model, method, sft, "all_rules", n_boot, seed))
            if method == model_source(model, DPO):
                rows.append(_win_minus_loss_row(model, method, sft, win_draw_loss.get(model)))
            rows.append(_unique_row(table, model, method, sft))
            if np.isnan(table.value(method, "calls")):
                continue  # a DPO round has no ledger of its own
            for kind in BUDGET_KINDS:
                baseline = model_source(model, kind)
                if baseline not in table.sources:
                    note = f"{baseline} is not in this run (iterative_dpo.budget_baselines is off)"
                    rows.append(_row(model, method, baseline, "hits_per_1000_calls", note=note))
                    continue
                rows.append(_share_row(table, model, method, baseline, "hits_per_1000_calls", n_boot, seed))
                rows.append(_trusted_pairs_row(table, model, method, baseline))
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def _number(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3g}"


def _signed(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:+.3g}"


def _evidence(row) -> str:
    """The numbers behind one finding: values, difference and interval."""
    parts = []
    if not (np.isnan(row.method_value) or np.isnan(row.baseline_value)):
        parts.append(f"{_number(row.method_value)} vs {_number(row.baseline_value)}")
    if not np.isnan(row.low):
        parts.append(f"{_signed(row.difference)} [{_number(row.low)}, {_number(row.high)}]")
    return "; ".join(parts)


def method_title(method: str, accepted: Mapping[str, bool] | None = None, final_round: int | None = None) -> str:
    """A method's name in the verdict: a round says whether it was accepted; the final DPO source
    says which round's policy it is."""
    title = source_label(method)
    accepted = accepted or {}
    if method in accepted:
        title += " (accepted)" if accepted[method] else " (rejected by the uniqueness floor)"
    elif method.endswith(f"-{DPO}") and final_round is not None:
        # its hits per call are the pipeline's ledger, which counts the rejected rounds' calls
        none_accepted = (
            " (no round accepted: SFT's samples; calls and hits of the whole pipeline, rejected rounds included)"
        )
        title += f" (final policy: round {final_round})" if final_round else none_accepted
    return title


def rounds_accepted(rounds: pd.DataFrame) -> tuple[dict[str, bool], dict[str, int]]:
    """From the per-round table (``alloypref.evaluation.headline.ROUNDS_SCHEMA``): whether each round's
    source (``{model}-dpo_r{r}``) was accepted, and each model's final policy round (0: none accepted)."""
    per_round = rounds[rounds["round"] > 0].drop_duplicates(["model", "round"])
    accepted = {
        model_source(m, f"{ROUND_PREFIX}{r}"): bool(a)
        for m, r, a in zip(per_round["model"], per_round["round"], per_round["accepted"])
    }
    final = {
        model: int(part.loc[part["accepted"].astype(bool), "round"].max()) if part["accepted"].astype(bool).any() else 0
        for model, part in per_round.groupby("model")
    }
    return accepted, final


def _short(source: str, model: str) -> str:
    """A baseline's name inside its model's bullet: without the model."""
    label = source_label(source)
    return label.removeprefix(f"{model} ") if label != source else label


def statement_items(table: pd.DataFrame, rounds: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """The verdict as (title, sentence) items: per method (title: its name), the baselines it beats,
    trails and cannot be told from, with values and 95 % intervals of the difference; then per
    metric (title: "Not tested"), what could not be tested and why."""
    accepted, final = rounds_accepted(rounds) if rounds is not None and len(rounds) else ({}, {})
    items = []
    tested = table[table["outcome"] != UNTESTED]
    for method, part in tested.groupby("method", sort=False):
        model = part["model"].iloc[0]
        clauses = []
        for word, verb in ((BEATS, "beats"), (TRAILS, "trails"), (EVEN, "is not distinguishable from")):
            chosen = part[part["outcome"] == word]
            against = [
                f"{_short(baseline, model)} on "
                + " and ".join(
                    f"{PHRASES.get(r.metric, metric_label(r.metric))} ({_evidence(r)})" for r in rows.itertuples()
                )
                for baseline, rows in chosen.groupby("baseline", sort=False)
            ]
            if against:
                clauses.append(f"{verb} " + ", ".join(against))
        items.append((method_title(method, accepted, final.get(model)), "; ".join(clauses) + "."))
    untested = table[table["outcome"] == UNTESTED]
    for metric, part in untested.groupby("metric", sort=False):
        cases = ", ".join(
            f"{source_label(r.method)} vs {_short(r.baseline, r.model)}"
            + (f" {_number(r.method_value)} vs {_number(r.baseline_value)}" if not np.isnan(r.method_value) else "")
            for r in part.itertuples(index=False)
        )
        reasons = "; ".join(dict.fromkeys(note.split("; ")[0] for note in part["note"]))
        items.append(("Not tested", f"{PHRASES.get(metric, metric_label(metric))}: {cases} ({reasons})."))
    return items


NOTHING = "No method and baseline of this run could be compared (no model with SFT samples)."


def statement(table: pd.DataFrame, rounds: pd.DataFrame | None = None) -> str:
    """The verdict as Markdown bullets (:func:`statement_items`)."""
    items = statement_items(table, rounds)
    if not items:
        return NOTHING + "\n"
    return "\n".join(f"- **{title}** {text}" for title, text in items) + "\n"


PREAMBLE = (
    'Each method against its baselines, 95 % intervals of the difference (method minus baseline): "beats" '
    'only where the interval lies above 0, "not distinguishable" where it holds 0. One run is one draw of '
    "training and sampling."
)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The verdict table with the reader's names, for Markdown and HTML."""
    return pd.DataFrame(
        {
            "Method": [source_label(m) for m in table["method"]],
            "Against": [source_label(b) for b in table["baseline"]],
            "Metric": [PHRASES.get(m, metric_label(m)) for m in table["metric"]],
            "Method value": [_number(v) for v in table["method_value"]],
            "Baseline value": [_number(v) for v in table["baseline_value"]],
            "Difference [95 %]": [
                f"{_signed(d)} [{_number(lo)}, {_number(hi)}]" if not np.isnan(lo) else _signed(d)
                for d, lo, hi in zip(table["difference"], table["low"], table["high"])
            ],
            "Verdict": table["outcome"],
            "How": table["note"],
        }
    )


def summary_text(table: pd.DataFrame, rounds: pd.DataFrame | None = None) -> str:
    """The preamble and the statement (Markdown), what ``results/summary.md`` opens with."""
    return f"{PREAMBLE}\n\n{statement(table, rounds)}"


def markdown(table: pd.DataFrame, rounds: pd.DataFrame | None = None) -> str:
    """``metrics/verdict.md``: the statement, then every finding in a table."""
    rows = _shown(table).to_markdown(index=False) if len(table) else "_(no comparisons)_"
    return f"{summary_text(table, rounds)}\n{rows}\n"


def html(table: pd.DataFrame, rounds: pd.DataFrame | None = None) -> str:
    """``metrics/verdict.html`` for the report: the same as :func:`markdown`."""
    from html import escape

    items = statement_items(table, rounds)
    bullets = "".join(f"<li><b>{escape(title)}</b> {escape(text)}</li>" for title, text in items)
    body = f"<ul>{bullets}</ul>" if items else f"<p>{escape(NOTHING)}</p>"
    return f"<p>{escape(PREAMBLE)}</p>{body}" + (_shown(table).to_html(index=False) if len(table) else "")
