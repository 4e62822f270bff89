"""Figures of the evaluation (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alloypref.evaluation.phase_curves import PhaseCurves, phase_curves


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def draw_intervals(ax, x, low, high, color="black", capsize: float = 3.0) -> None:
    """Vertical 95 % interval lines from ``low`` to ``high`` at ``x``, drawn whole: an interval need
    not be centred on the bar or marker (bootstrap percentiles are not), so it is not drawn as error
    bars around the value, which would clip or flip the part on the far side. NaN bounds: no line."""
    x, low, high = (np.asarray(v, dtype=float) for v in (x, low, high))
    shown = ~(np.isnan(low) | np.isnan(high))
    if not shown.any():
        return
    ax.vlines(x[shown], low[shown], high[shown], color=color, linewidth=1.2)
    for bound in (low, high):
        ax.plot(x[shown], bound[shown], "_", color=color, markersize=2 * capsize)


def bars_with_intervals(frame: pd.DataFrame, label: str, path: Path, title: str, ylabel: str = "share") -> None:
    """One bar per row of ``frame`` (columns label, share, low, high)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(frame) + 2), 3.4))
    x = np.arange(len(frame))
    ax.bar(x, frame["share"], color="#4c72b0")
    draw_intervals(ax, x, frame["low"], frame["high"], capsize=4)
    ax.set_xticks(x, frame[label], rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _save(fig, path)


def grouped_bars(
    frame: pd.DataFrame, group: str, series: str, path: Path, title: str, with_intervals: bool = True
) -> None:
    """Bars of ``share`` for each ``group`` (x axis) and ``series`` (colours), with 95 % intervals."""
    plt = _plt()
    groups = list(dict.fromkeys(frame[group]))
    names = list(dict.fromkeys(frame[series]))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(groups) * max(1, len(names)) * 0.6 + 2), 3.6))
    for k, name in enumerate(names):
        part = frame[frame[series] == name].set_index(group).reindex(groups)
        x = np.arange(len(groups)) + k * width
        ax.bar(x, part["share"].fillna(0), width, label=name)
        if with_intervals and {"low", "high"} <= set(part.columns):
            draw_intervals(ax, x, part["low"], part["high"])
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=20, ha="right")
    ax.set_ylabel("share")
    ax.set_title(title)
    ax.legend(fontsize=8)
    _save(fig, path)


def coverage_curves(curves: pd.DataFrame, path: Path) -> None:
    """COV-R and COV-P against the cutoff, one line per source."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for source, part in curves.groupby("source"):
        axes[0].plot(part["cutoff"], part["coverage_recall"], marker="o", label=source)
        axes[1].plot(part["cutoff"], part["coverage_precision"], marker="o", label=source)
    for ax, name in zip(axes, ("COV-R", "COV-P")):
        ax.set_xlabel("cutoff (standardised Magpie distance)")
        ax.set_ylabel(name)
        ax.set_ylim(-0.02, 1.02)
    axes[1].legend(fontsize=8)
    _save(fig, path)


def kl_bars(kl: pd.DataFrame, path: Path, title: str) -> None:
    """Mean per-token KL by element symbol and for numbers."""
    plt = _plt()
    part = kl[kl["token_kind"].isin(["element", "number"])].sort_values("count", ascending=False)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(part) + 2), 3.2))
    ax.bar(part["group"], part["mean_kl"], color="#dd8452")
    for x, (value, count) in enumerate(zip(part["mean_kl"], part["count"])):
        ax.text(x, value, str(count), ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("mean KL(DPO || SFT) per token")
    ax.set_title(title)
    _save(fig, path)


#: Line colours of the structures in phase-fraction charts (the explorer's are the same).
STRUCTURE_COLOURS = {"BCC": "#4c72b0", "B2": "#c44e52", "LIQUID": "#8c8c8c", "OTHER": "#55a868"}
# Curves of one structure are told apart by line style (several BCC composition sets, several others).
_LINE_STYLES = ("-", "--", ":", "-.")


def draw_phase_curves(ax, curves: PhaseCurves) -> None:
    """One line per curve of ``curves`` on ``ax``: mole fraction (0-1) against temperature (K),
    coloured by structure, with axis labels and a legend."""
    seen: dict[str, int] = {}
    for curve in curves.curves:
        k = seen.get(curve.structure, 0)
        seen[curve.structure] = k + 1
        ax.plot(
            curves.temperatures_K,
            curve.fractions,
            marker=".",
            linestyle=_LINE_STYLES[k % len(_LINE_STYLES)],
            color=STRUCTURE_COLOURS.get(curve.structure, "black"),
            label=curve.label,
        )
    ax.set_xlabel("temperature (K)")
    ax.set_ylabel("phase fraction (mole fraction of atoms)")
    ax.set_ylim(-0.02, 1.02)
    if curves.curves:
        ax.legend(fontsize=7)


def phase_fraction_figure(curves: PhaseCurves, title: str):
    """The paper's Fig. 9 as a chart for one candidate: each phase's mole fraction against
    temperature (K), its legend beside the axes. Returns the matplotlib figure (not saved)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    draw_phase_curves(ax, curves)
    if curves.curves:  # beside the axes: a legend inside would hide a curve
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title, fontsize=9)
    return fig


def phase_fraction_chart(curves: PhaseCurves, path: Path, title: str) -> None:
    """:func:`phase_fraction_figure` written as a PNG to ``path``."""
    _save(phase_fraction_figure(curves, title), path)


def phase_fractions(tables: pd.DataFrame, rewards: pd.DataFrame, path: Path, title: str) -> None:
    """Mole fraction of BCC, B2, liquid and other phases against temperature, one panel per candidate
    (composition sets summed per structure)."""
    plt = _plt()
    n = max(1, len(rewards))
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    for ax, row in zip(axes[0], rewards.itertuples(index=False)):
        draw_phase_curves(ax, phase_curves(tables[tables["candidate_id"] == row.candidate_id], per="structure"))
        ax.set_title(
            f"{row.bcc} + {row.b2} @ {row.b2_volume_percent:g} %\nreward {row.reward:.3f} ({row.database})", fontsize=8
        )
    fig.suptitle(title)
    _save(fig, path)


def hits_against_calls(ledgers: dict, path: Path) -> None:
    """Cumulative all-rules hits against cumulative CALPHAD calls, one line per method (its ledger steps)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for source, ledger in ledgers.items():
        calls = np.r_[0, ledger["cumulative_calls"].to_numpy()]
        hits = np.r_[0, ledger["cumulative_hits"].to_numpy()]
        ax.plot(calls, hits, marker="o", label=source)
    ax.set_xlabel("CALPHAD calls (unique candidates scored)")
    ax.set_ylabel("unique candidates meeting all four rules")
    ax.legend(fontsize=7)
    _save(fig, path)


def round_trajectories(rounds: pd.DataFrame, path: Path) -> None:
    """One panel per metric against the round (0 = SFT), a line per model with 95 % intervals;
    rejected rounds drawn as open markers."""
    plt = _plt()
    metrics = list(dict.fromkeys(rounds["metric"]))
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(3.2 * max(1, len(metrics)), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for model, part in rounds[rounds["metric"] == metric].groupby("model"):
            line = ax.plot(part["round"], part["value"], marker="o", label=model)
            draw_intervals(ax, part["round"], part["low"], part["high"], color=line[0].get_color())
            rejected = part[~part["accepted"].astype(bool)]
            ax.plot(rejected["round"], rejected["value"], "o", mfc="white", color=line[0].get_color())
        ax.set_xlabel("round (0 = SFT)")
        ax.set_title(metric, fontsize=9)
    axes[0][0].legend(fontsize=7)
    _save(fig, path)
