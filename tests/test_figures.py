"""Figure layout: panels in a grid with the reader's titles, every series visible (its own marker,
style, or panel), stray symbols apart in the KL bars."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from alloypref.evaluation import figures
from alloypref.evaluation.labels import metric_label
from alloypref.sources import source_label

ROUND_METRICS = [
    "all_rules",
    "mean_reward",
    "unique_at_100",
    "element_tv",
    "cov_r@10",
    "cov_p@10",
    "cov_r@2",
    "cov_p@2",
    "cov_r@4",
    "cov_p@4",
    "cumulative_hits_per_1000_calls",
]


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_rounds_figure_is_a_grid_with_titles_and_units(tmp_path):
    # the default run's eleven round metrics: three rows of four, not one row of eleven
    rounds = pd.DataFrame(
        [
            {"model": "tiny", "round": r, "accepted": r < 2, "metric": m, "value": 0.5, "low": 0.4, "high": 0.6}
            for m in ROUND_METRICS
            for r in (0, 1, 2)
        ]
    )
    path = tmp_path / "rounds.png"
    fig = figures.round_trajectories(rounds, path)
    axes = visible_axes(fig)
    assert len(axes) == 11 and figures.grid_shape(11) == (3, 4)
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in axes} == {(3, 4)}
    assert [ax.get_title() for ax in axes] == [metric_label(m) for m in ROUND_METRICS]
    assert not [ax.get_title() for ax in axes if "_" in ax.get_title()]  # no code names
    height, width = imread(path).shape[:2]
    assert width <= 2000 and height <= 1400
    # a rejected round is an open marker: one white-faced point per panel, at round 2
    open_points = [
        line for line in axes[0].get_lines() if line.get_markerfacecolor() == "white" and len(line.get_xdata())
    ]
    assert len(open_points) == 1 and list(open_points[0].get_xdata()) == [2]


def ledger(calls, hits):
    return pd.DataFrame({"cumulative_calls": np.cumsum(calls), "cumulative_hits": np.cumsum(hits)})


def test_hits_against_calls_draws_each_method_in_its_own_panel(tmp_path):
    # SFT's whole line is the DPO pipeline's first step: on one axis DPO would hide it
    ledgers = {
        "tiny-sft": ledger([79], [36]),
        "tiny-dpo": ledger([79, 79, 64], [36, 59, 60]),
        "tiny-bestofn": ledger([222], [103]),
    }
    fig = figures.hits_against_calls(ledgers, tmp_path / "hits.png", {s: source_label(s) for s in ledgers})
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["tiny SFT", "tiny DPO", "tiny best-of-N (DPO's budget)"]
    for ax, frame in zip(axes, ledgers.values()):
        marked = [line for line in ax.get_lines() if line.get_marker() not in ("None", "", None)]
        assert len(marked) == 1  # the panel's own method, with markers, over the others in grey
        assert list(marked[0].get_ydata()) == [0, *frame["cumulative_hits"]]
        greys = [line for line in ax.get_lines() if line is not marked[0]]
        assert len(greys) == len(ledgers) - 1 and all(g.get_zorder() < marked[0].get_zorder() for g in greys)


def test_coverage_lines_each_have_their_own_marker_and_style(tmp_path):
    sources = ["a-sft", "a-dpo", "a-grpo", "a-bestofn", "a-random", "random"]
    curves = pd.DataFrame(
        [
            {"source": s, "cutoff": c, "coverage_recall": 1.0, "coverage_precision": 1.0}
            for s in sources
            for c in (1.0, 2.0)
        ]
    )
    fig = figures.coverage_curves(curves, tmp_path / "coverage.png", {s: source_label(s) for s in sources})
    lines = fig.axes[0].get_lines()
    assert len(lines) == len(sources)
    styles = {(line.get_marker(), line.get_linestyle(), line.get_markersize()) for line in lines}
    assert len(styles) == len(sources)  # identical values, told apart by marker, style and size
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "a SFT"


def test_series_styles_differ_and_shrink_so_overlaps_show():
    styles = [figures.series_style(k) for k in range(8)]
    assert len({s["marker"] for s in styles}) == 8
    sizes = [s["markersize"] for s in styles]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[1]
    assert [s["zorder"] for s in styles] == sorted(s["zorder"] for s in styles)


@pytest.mark.parametrize(("panels", "shape"), [(1, (1, 1)), (4, (1, 4)), (5, (2, 4)), (11, (3, 4))])
def test_grid_shape(panels, shape):
    assert figures.grid_shape(panels) == shape


def test_top_candidates_go_in_rows_of_three(tmp_path):
    rewards = pd.DataFrame(
        {
            "candidate_id": [f"c{i}" for i in range(5)],
            "bcc": ["Cr"] * 5,
            "b2": ["AlNi"] * 5,
            "b2_volume_percent": [30.0] * 5,
            "reward": [-0.1] * 5,
            "database": ["db"] * 5,
        }
    )
    tables = pd.DataFrame(
        [
            {"candidate_id": f"c{i}", "temperature_K": t, "structure": s, "mole_fraction": 0.5}
            for i in range(5)
            for t in (373.15, 773.15)
            for s in ("BCC", "B2")
        ]
    )
    fig = figures.phase_fractions(tables, rewards, tmp_path / "top.png", "top")
    axes = visible_axes(fig)
    assert len(axes) == 5 and axes[0].get_subplotspec().get_geometry()[:2] == (2, 3)
    assert "B2 30 vol%" in axes[0].get_title()


def test_kl_bars_set_stray_symbols_apart(tmp_path):
    kl = pd.DataFrame(
        [
            {"group": "Cr", "token_kind": "element", "count": 9, "mean_kl": 0.02},
            {"group": "H", "token_kind": "stray_symbol", "count": 2, "mean_kl": 0.01},
            {"group": "number", "token_kind": "number", "count": 30, "mean_kl": 0.03},
            {"group": "tag", "token_kind": "tag", "count": 40, "mean_kl": 0.03},
        ]
    )
    fig = figures.kl_bars(kl, tmp_path / "kl.png", "kl")
    ax = fig.axes[0]
    bars = dict(zip([t.get_text() for t in ax.get_xticklabels()], ax.patches))
    assert set(bars) == {"Cr", "H", "number"}  # tags are structure, not chemistry
    assert bars["H"].get_hatch() == "//" and bars["Cr"].get_hatch() in (None, "")
    assert "nats" in ax.get_ylabel()
