"""Figures of the evaluation (PNG at 120 dpi, matplotlib's Agg backend). Every drawing function
writes its file and returns the closed figure, whose axes tests and callers can still read.

Every series stays visible: lines have their own markers and styles (:func:`series_style`), lines
that run along each other are drawn as small multiples (:func:`hits_against_calls`), and many
panels go in a grid (:func:`grid_shape`) titled with the reader's metric names and units."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from alloypref.evaluation.labels import metric_label
from alloypref.evaluation.phase_curves import PhaseCurves, phase_curves


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Marker shapes and line styles cycled over series, so a series is told apart without colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def series_style(index: int) -> dict:
    """Plot keywords of the ``index``-th series of a line chart: its own marker and line style, and
    markers and lines that shrink with the index while the z-order grows, so a series drawn first
    still shows round one drawn later on the same points (the SFT samples are the DPO pipeline's
    first ledger step)."""
    return {
        "marker": MARKERS[index % len(MARKERS)],
        "linestyle": LINESTYLES[index % len(LINESTYLES)],
        "markersize": max(4.0, 11.0 - 1.5 * index),
        "linewidth": max(1.0, 3.0 - 0.4 * index),
        "zorder": 2 + index,
    }


def grid_shape(panels: int, max_columns: int = 4) -> tuple[int, int]:
    """(rows, columns) of a grid holding ``panels`` panels, at most ``max_columns`` a row."""
    columns = min(max(1, panels), max_columns)
    return -(-max(1, panels) // columns), columns


def _grid(panels: int, max_columns: int = 4, width: float = 3.6, height: float = 3.0, **kwargs):
    """A figure of ``panels`` axes in a grid (:func:`grid_shape`); axes past the last panel are hidden."""
    plt = _plt()
    rows, columns = grid_shape(panels, max_columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False, **kwargs)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:panels])


def _save(fig, path: Path, tight: bool = True):
    """Write ``fig`` as a PNG (120 dpi) and close it; returns it (closed, its axes still readable)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)
    return fig


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


def bars_with_intervals(frame: pd.DataFrame, label: str, path: Path, title: str, ylabel: str = "share (fraction 0-1)"):
    """One bar per row of ``frame`` (columns label, share, low, high)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5.5, 1.4 * len(frame) + 2), 3.6))
    x = np.arange(len(frame))
    ax.bar(x, frame["share"], color="#4c72b0")
    draw_intervals(ax, x, frame["low"], frame["high"], capsize=4)
    ax.set_xticks(x, frame[label], rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def grouped_bars(
    frame: pd.DataFrame,
    group: str,
    series: str,
    path: Path,
    title: str,
    with_intervals: bool = True,
    ylabel: str = "share (fraction 0-1)",
):
    """Bars of ``share`` for each ``group`` (x axis) and ``series`` (colours and hatches), with 95 %
    intervals."""
    plt = _plt()
    groups = list(dict.fromkeys(frame[group]))
    names = list(dict.fromkeys(frame[series]))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(groups) * max(1, len(names)) * 0.6 + 2), 3.6))
    for k, name in enumerate(names):
        part = frame[frame[series] == name].set_index(group).reindex(groups)
        x = np.arange(len(groups)) + k * width
        ax.bar(x, part["share"].fillna(0), width, label=name, hatch=("", "//", "..", "xx")[k % 4], edgecolor="white")
        if with_intervals and {"low", "high"} <= set(part.columns):
            draw_intervals(ax, x, part["low"], part["high"])
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def coverage_curves(curves: pd.DataFrame, path: Path, labels: Mapping[str, str] | None = None):
    """COV-R and COV-P against the cutoff, one line per source, each with its own marker and line
    style (:func:`series_style`): sources that reach full coverage together stay visible. ``labels``:
    the reader's name of each source (``alloypref.sources.source_label``), else the source's own."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for k, (source, part) in enumerate(curves.groupby("source", sort=False)):
        style = series_style(k) | {"markerfacecolor": "none" if k % 2 else None}
        axes[0].plot(part["cutoff"], part["coverage_recall"], label=(labels or {}).get(source, source), **style)
        axes[1].plot(part["cutoff"], part["coverage_precision"], **style)
    for ax, name in zip(axes, ("COV-R: reference points covered", "COV-P: parsed samples near a reference")):
        ax.set_xlabel("cutoff (standardised Magpie distance)")
        ax.set_ylabel("share (fraction 0-1)")
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-0.02, 1.05)
    fig.legend(loc="lower center", ncol=min(4, curves["source"].nunique()), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return _save(fig, path, tight=False)


def kl_bars(kl: pd.DataFrame, path: Path, title: str):
    """Mean per-token KL (nats) by element symbol, stray symbol (a letter outside the design space in a
    malformed sample, hatched grey) and for numbers; token counts on the bars."""
    plt = _plt()
    kinds = {"element": "#dd8452", "number": "#4c72b0", "stray_symbol": "#b0b0b0"}
    part = kl[kl["token_kind"].isin(kinds)].sort_values("count", ascending=False)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(part) + 2), 3.4))
    x = np.arange(len(part))
    colours = [kinds[k] for k in part["token_kind"]]
    hatches = ["//" if k == "stray_symbol" else "" for k in part["token_kind"]]
    ax.bar(x, part["mean_kl"], color=colours, hatch=hatches, edgecolor="white")
    for xi, (value, count) in enumerate(zip(part["mean_kl"], part["count"])):
        ax.text(xi, value, str(count), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, part["group"])
    ax.set_xlabel("token group (number on a bar: its tokens)")
    ax.set_ylabel("mean KL(DPO || SFT) (nats / token)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for k, c in kinds.items() if k in set(part["token_kind"])]
    names = [k.replace("_", " ") for k in kinds if k in set(part["token_kind"])]
    ax.legend(handles, names, fontsize=7)
    ax.set_title(title)
    return _save(fig, path)


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


def phase_fractions(tables: pd.DataFrame, rewards: pd.DataFrame, path: Path, title: str):
    """Mole fraction of BCC, B2, liquid and other phases against temperature, one panel per candidate
    in a grid (composition sets summed per structure: their numbers are not stable across temperatures)."""
    fig, axes = _grid(max(1, len(rewards)), max_columns=3, width=4.0, height=3.4)
    for ax, row in zip(axes, rewards.itertuples(index=False)):
        draw_phase_curves(ax, phase_curves(tables[tables["candidate_id"] == row.candidate_id], per="structure"))
        ax.set_title(
            f"{row.bcc} + {row.b2}, B2 {row.b2_volume_percent:g} vol%\nreward {row.reward:.3f} ({row.database})",
            fontsize=9,
        )
    fig.suptitle(title)
    return _save(fig, path)


def hits_against_calls(ledgers: Mapping[str, pd.DataFrame], path: Path, labels: Mapping[str, str] | None = None):
    """Cumulative all-rules hits against cumulative CALPHAD calls, small multiples: one panel per
    method (its ledger steps, in colour with markers) over every other method in grey, so a method
    whose line runs along another's (SFT's is the DPO pipeline's first step) is seen whole.
    ``labels``: the reader's name of each source, else the source's own."""
    fig, axes = _grid(max(1, len(ledgers)), max_columns=3, width=3.8, height=3.2, sharex=True, sharey=True)
    lines = {
        source: (np.r_[0, ledger["cumulative_calls"].to_numpy()], np.r_[0, ledger["cumulative_hits"].to_numpy()])
        for source, ledger in ledgers.items()
    }
    for k, (ax, (source, (calls, hits))) in enumerate(zip(axes, lines.items())):
        for other, (x, y) in lines.items():
            if other != source:
                ax.plot(x, y, color="#c8c8c8", linewidth=1.0, zorder=1)
        ax.plot(calls, hits, color=f"C{k}", marker="o", linewidth=2.0, zorder=3)
        late = calls[-1] > 0.5 * max(x[-1] for x, _ in lines.values())
        ax.annotate(
            f"{hits[-1]:.0f} hits / {calls[-1]:.0f} calls",
            (calls[-1], hits[-1]),
            fontsize=7,
            xytext=(-4, 6) if late else (6, -10),
            textcoords="offset points",
            ha="right" if late else "left",  # a short line's label goes right of its end, off the y axis
        )
        ax.set_title((labels or {}).get(source, source), fontsize=9)
        ax.set_xlabel("CALPHAD calls (unique candidates scored)", fontsize=8)
        ax.set_ylabel("hits (unique triples, all 4 rules)", fontsize=8)
    for ax in axes:  # shared axes hide inner tick labels; a short last row would leave columns without them
        ax.tick_params(labelbottom=True)
    fig.suptitle("Hits against CALPHAD calls (grey: the other methods)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # room for the title above the first row
    return _save(fig, path, tight=False)


#: Round metrics that are shares (fractions 0-1): their panels span 0-1.
_SHARE_METRICS = ("all_rules", "unique_at_100", "element_tv")


def round_trajectories(rounds: pd.DataFrame, path: Path):
    """One panel per metric against the round (0 = SFT) in a grid, titled with the metric's name and
    unit, a line per model with 95 % intervals; rejected rounds drawn as open markers."""
    plt = _plt()
    metrics = list(dict.fromkeys(rounds["metric"]))
    fig, axes = _grid(max(1, len(metrics)), max_columns=4, width=3.4, height=2.9)
    for ax, metric in zip(axes, metrics):
        for k, (model, part) in enumerate(rounds[rounds["metric"] == metric].groupby("model")):
            style = series_style(k)
            line = ax.plot(part["round"], part["value"], label=model, **style)
            draw_intervals(ax, part["round"], part["low"], part["high"], color=line[0].get_color())
            rejected = part[~part["accepted"].astype(bool)]
            ax.plot(
                rejected["round"],
                rejected["value"],
                linestyle="none",
                marker=style["marker"],
                markersize=style["markersize"],
                mfc="white",
                color=line[0].get_color(),
                zorder=style["zorder"] + 1,
            )
        if metric in _SHARE_METRICS or metric.startswith(("cov_r@", "cov_p@")):
            ax.set_ylim(-0.03, 1.05)
        ax.set_xticks(sorted(rounds["round"].unique()))
        ax.set_xlabel("round (0 = SFT)", fontsize=8)
        ax.set_title(metric_label(metric), fontsize=9)
    if axes:
        handles, labels = axes[0].get_legend_handles_labels()
        handles.append(plt.Line2D([], [], linestyle="none", marker="o", mfc="white", color="black"))
        labels.append("rejected round")
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
        fig.suptitle("Iterative DPO per round (bars: 95 % intervals)", fontsize=10)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path, tight=False)
