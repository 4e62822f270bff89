"""`alloypref side-by-side`: finished runs' headline numbers, parse failures and elements, read
from the runs' artifacts."""

from __future__ import annotations

import pandas as pd
import pytest

from alloypref.cli import main
from alloypref.evaluation.side_by_side import (
    RunError,
    element_preferences,
    format_errors,
    headline_side_by_side,
    parse_rate,
)


def _run(folder, source, statuses, reasons, formulas):
    """A results folder with one source: its headline rows, parsed triples and scores."""
    (folder / "metrics").mkdir(parents=True)
    (folder / "triples").mkdir()
    (folder / "scores" / source).mkdir(parents=True)
    pd.DataFrame(
        [
            {
                "source": source,
                "metric": "hits_per_1000_calls",
                "value": 500.0,
                "low": 400.0,
                "high": 600.0,
                "interval": "bootstrap of calls",
            },
            {
                "source": source,
                "metric": "trusted_pairs_per_1000_calls",
                "value": 80.0,
                "low": float("nan"),
                "high": float("nan"),
                "interval": "none",
            },
        ]
    ).to_parquet(folder / "metrics" / "headline.parquet")
    pd.DataFrame({"parse_status": statuses, "parse_reason": reasons}).to_parquet(
        folder / "triples" / f"{source}.parquet"
    )
    bcc, b2 = zip(*formulas)
    pd.DataFrame({"bcc": bcc, "b2": b2, "master_composition": ["x"] * len(bcc)}).to_parquet(
        folder / "scores" / source / "rewards.parquet"
    )
    return folder


def test_parse_rate_is_the_ok_share_with_a_wilson_interval():
    rate, low, high = parse_rate(pd.Series(["ok"] * 3 + ["malformed"]))
    assert rate == 0.75
    # Wilson score interval of 3/4 at 95 %
    assert low == pytest.approx(0.3006, abs=1e-3) and high == pytest.approx(0.9544, abs=1e-3)


def test_two_runs_side_by_side(tmp_path):
    tags = "expected <BCC>…</BCC><B2>…</B2><B2 Volume>…</B2 Volume> once each"
    a = _run(
        tmp_path / "a",
        "tiny-sft",
        ["ok", "ok", "malformed", "unparseable", "unparseable"],
        ["", "", "formula 'Cr3Cr' repeats Cr", tags, tags],
        [("Cr2V", "NiAl"), ("Mo", "NiAl")],
    )
    b = _run(
        tmp_path / "b",
        "smol-sft",
        ["ok", "malformed", "malformed"],
        ["", "formula 'V2V' repeats V", "formula 'V13V' repeats V"],
        [("V", "NiAl")],
    )
    headline = headline_side_by_side([a, b]).set_index("Source")
    assert headline.loc["tiny-sft", "Hits / 1,000 calls"] == "500 [400, 600]"
    assert headline.loc["tiny-sft", "Trusted pairs / 1,000 calls"] == "80"
    assert headline.loc["tiny-sft", "Parse rate (share)"] == "0.4 [0.118, 0.769]"
    assert headline.loc["smol-sft", "All 4 rules (share)"] == "–"  # not in that run's headline
    assert headline["Run"].tolist() == [str(a), str(b)]
    errors = format_errors([a, b]).set_index("Source")
    assert errors.loc["tiny-sft", ["Samples", "ok", "malformed", "unparseable"]].tolist() == [5, 2, 1, 2]
    # the tag names stay as written (B2 is not a number to elide)
    assert errors.loc["tiny-sft", "Most frequent failure"] == f"{tags} (2)"
    # the particulars are elided: the two malformed samples of b are one kind
    assert errors.loc["smol-sft", "Most frequent failure"] == "formula … repeats V (2)"
    elements = element_preferences([a, b]).set_index("Source")
    # tiny-sft: Cr, V, Ni, Al in sample 1 and Mo, Ni, Al in sample 2: 7 occurrences
    assert elements.loc["tiny-sft", "Ni"] == pytest.approx(100 * 2 / 7, abs=0.05)
    assert elements.loc["smol-sft", "Cr"] == 0.0


def test_a_run_that_has_not_finished_is_named(tmp_path, capsys):
    with pytest.raises(RunError, match="headline.parquet does not exist"):
        headline_side_by_side([tmp_path])
    assert main(["side-by-side", str(tmp_path)]) == 2
    assert str(tmp_path / "metrics" / "headline.parquet") in capsys.readouterr().err
