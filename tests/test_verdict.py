"""The run's verdict on hand-made metric tables: "beats" only where the interval of the difference
excludes 0, "not distinguishable" where it holds 0, "not tested" with its reason where there is no
interval or no baseline; and the summary that opens with it."""

import json

import numpy as np
import pandas as pd
import pytest

from alloypref.evaluation import verdict as v
from alloypref.evaluation.headline import HEADLINE_METRICS, sample_rows_of, wide
from alloypref.evaluation.labels import metric_label
from alloypref.evaluation.set_metrics import FRESH, SUBSAMPLE
from alloypref.evaluation.summary import render_summary

NAN = float("nan")


def row(source, metric, value, low=NAN, high=NAN, interval="none"):
    return {"source": source, "metric": metric, "value": value, "low": low, "high": high, "interval": interval}


def sample_rows(source, all_rules, samples, unique=0.5, unique_interval=(NAN, NAN), how=SUBSAMPLE):
    return [
        row(source, "samples", float(samples)),
        row(source, "all_rules", all_rules, interval="bootstrap of samples"),
        row(source, "unique_at_100", unique, *unique_interval, how),
    ]


def ledger_rows(source, hits, calls, trusted_pairs=5):
    return [
        row(source, "calls", float(calls)),
        row(source, "hits", float(hits)),
        row(source, "hits_per_1000_calls", 1000.0 * hits / calls, interval="bootstrap of calls"),
        row(source, "trusted_pairs", float(trusted_pairs)),
        row(source, "trusted_pairs_per_1000_calls", 1000.0 * trusted_pairs / calls),
    ]


def wdl_table(low, high, share=0.1):
    return pd.DataFrame(
        [
            {"outcome": "win", "share": 0.5, "low": 0.4, "high": 0.6, "n": 400},
            {"outcome": "draw", "share": 0.1, "low": 0.05, "high": 0.15, "n": 400},
            {"outcome": "loss", "share": 0.4, "low": 0.3, "high": 0.5, "n": 400},
            {"outcome": "win - loss", "share": share, "low": low, "high": high, "n": 400},
        ]
    )


def headline(*groups):
    return pd.DataFrame([r for group in groups for r in group])


def finding(table, method, baseline, metric):
    part = table[(table.method == method) & (table.baseline == baseline) & (table.metric == metric)]
    assert len(part) == 1, (method, baseline, metric, table[["method", "baseline", "metric"]])
    return part.iloc[0]


def test_a_clear_win_beats_with_an_interval_above_zero():
    table = v.findings(
        headline(sample_rows("m-sft", 0.2, 500), sample_rows("m-dpo", 0.6, 500)), {"m": wdl_table(0.05, 0.3)}
    )
    share = finding(table, "m-dpo", "m-sft", "all_rules")
    assert share.outcome == v.BEATS and share.low > 0 and share.difference == pytest.approx(0.4)
    assert share.note == "bootstrap of samples: 300/500 against 100/500"
    assert finding(table, "m-dpo", "m-sft", v.WIN_MINUS_LOSS).outcome == v.BEATS
    text = v.statement(table)
    assert "**m DPO** beats SFT on the all-4-rules share (0.6 vs 0.2; +0.4 [" in text


def test_an_interval_holding_zero_is_not_distinguishable_never_beats():
    table = v.findings(
        headline(sample_rows("m-sft", 0.28, 100), sample_rows("m-dpo", 0.30, 100)), {"m": wdl_table(-0.05, 0.2)}
    )
    share = finding(table, "m-dpo", "m-sft", "all_rules")
    assert share.low < 0 < share.high and share.outcome == v.EVEN
    assert finding(table, "m-dpo", "m-sft", v.WIN_MINUS_LOSS).outcome == v.EVEN
    text = v.statement(table)
    assert "is not distinguishable from SFT" in text and "beats" not in text


def test_a_method_below_its_baseline_trails():
    table = v.findings(headline(sample_rows("m-sft", 0.6, 400), sample_rows("m-grpo", 0.1, 400)), {})
    share = finding(table, "m-grpo", "m-sft", "all_rules")
    assert share.outcome == v.TRAILS and share.high < 0
    assert "**m GRPO** trails SFT on the all-4-rules share" in v.statement(table)


def test_hits_per_call_against_the_budget_matched_baselines():
    table = v.findings(
        headline(
            sample_rows("m-sft", 0.3, 100),
            sample_rows("m-dpo", 0.5, 100),
            ledger_rows("m-dpo", hits=150, calls=200, trusted_pairs=9),
            ledger_rows("m-bestofn", hits=100, calls=200, trusted_pairs=12),
            ledger_rows("m-random", hits=30, calls=200),
        ),
        {"m": wdl_table(0.01, 0.2)},
    )
    bestofn = finding(table, "m-dpo", "m-bestofn", "hits_per_1000_calls")
    assert bestofn.difference == pytest.approx(250.0) and bestofn.outcome == v.BEATS
    assert bestofn.note == "bootstrap of calls: 150/200 against 100/200"
    # a count of distinct pairs has no interval: its values are shown, never judged
    pairs = finding(table, "m-dpo", "m-bestofn", "trusted_pairs_per_1000_calls")
    assert pairs.outcome == v.UNTESTED and "9 against 12 distinct pairs" in pairs.note
    assert "Not tested" in v.statement(table) and "distinct trusted pairs per 1,000 calls" in v.statement(table)


def test_a_missing_method_or_baseline_is_named_not_invented():
    # no GRPO, no DPO rounds, no budget-matched baselines, no win/draw/loss table
    table = v.findings(
        headline(sample_rows("m-sft", 0.3, 100), sample_rows("m-dpo", 0.5, 100), ledger_rows("m-dpo", 50, 100)),
        {},
    )
    assert set(table.method) == {"m-dpo"}
    missing = finding(table, "m-dpo", "m-bestofn", "hits_per_1000_calls")
    assert missing.outcome == v.UNTESTED and "m-bestofn is not in this run" in missing.note
    wdl = finding(table, "m-dpo", "m-sft", v.WIN_MINUS_LOSS)
    assert wdl.outcome == v.UNTESTED and wdl.note == "no win/draw/loss table for this model"


def test_a_table_without_sample_counts_says_so():
    old = headline(
        [r for r in sample_rows("m-sft", 0.2, 500) if r["metric"] != "samples"],
        [r for r in sample_rows("m-dpo", 0.6, 500) if r["metric"] != "samples"],
    )
    share = finding(v.findings(old, {}), "m-dpo", "m-sft", "all_rules")
    assert share.outcome == v.UNTESTED and "sample count" in share.note and "'samples'" in share.note


def test_unique_at_100_is_judged_only_on_fresh_batch_intervals():
    fresh = headline(
        sample_rows("m-sft", 0.3, 100, 0.8, (0.75, 0.85), FRESH),
        sample_rows("m-dpo", 0.3, 100, 0.4, (0.3, 0.5), FRESH),
        sample_rows("m-dpo_r1", 0.3, 100, 0.78, (0.7, 0.8), FRESH),
    )
    table = v.findings(fresh, {})
    assert finding(table, "m-dpo", "m-sft", "unique_at_100").outcome == v.TRAILS
    assert finding(table, "m-dpo_r1", "m-sft", "unique_at_100").outcome == v.EVEN  # overlapping intervals
    subsampled = headline(sample_rows("m-sft", 0.3, 100, 0.8, (0.8, 0.8)), sample_rows("m-dpo", 0.3, 100, 0.4))
    unique = finding(v.findings(subsampled, {}), "m-dpo", "m-sft", "unique_at_100")
    assert unique.outcome == v.UNTESTED and "fresh_batches" in unique.note


def test_share_difference_holds_zero_for_equal_shares_and_refuses_empty_counts():
    difference, low, high = v.share_difference(30, 100, 30, 100, n_boot=500, seed=1)
    assert difference == 0.0 and low < 0 < high
    per_call = v.share_difference(150, 200, 100, 200, n_boot=500, seed=1, scale=1000.0)
    assert per_call[0] == pytest.approx(250.0) and per_call[1] < 250.0 < per_call[2]
    with pytest.raises(ValueError, match="n_b=0"):
        v.share_difference(1, 10, 0, 0)


def test_rounds_are_titled_accepted_or_rejected_and_the_final_policy_named():
    rounds = pd.DataFrame(
        [
            {"model": "m", "round": r, "accepted": a, "metric": "all_rules", "value": 0.3, "low": NAN, "high": NAN}
            for r, a in ((0, True), (1, True), (2, False))
        ]
    )
    table = v.findings(
        headline(
            sample_rows("m-sft", 0.2, 500),
            sample_rows("m-dpo", 0.6, 500),
            sample_rows("m-dpo_r1", 0.6, 500),
            sample_rows("m-dpo_r2", 0.7, 500),
        ),
        {},
    )
    assert list(dict.fromkeys(table.method)) == ["m-dpo", "m-dpo_r1", "m-dpo_r2"]
    text = v.statement(table, rounds)
    assert "**m DPO (final policy: round 1)**" in text
    assert "**m DPO round 1 (accepted)**" in text and "**m DPO round 2 (rejected by the uniqueness floor)**" in text


def test_a_dpo_pipeline_with_no_accepted_round_says_whose_samples_and_calls_it_reports():
    title = v.method_title("m-dpo", {"m-dpo_r1": False}, final_round=0)
    assert (
        title
        == "m DPO (no round accepted: SFT's samples; calls and hits of the whole pipeline, rejected rounds included)"
    )


def test_markdown_and_html_carry_the_statement_and_every_finding():
    table = v.findings(
        headline(sample_rows("m-sft", 0.2, 500), sample_rows("m-dpo", 0.6, 500)), {"m": wdl_table(0.05, 0.3)}
    )
    md = v.markdown(table)
    assert md.startswith(v.PREAMBLE) and md.count("| m DPO ") == len(table)
    html = v.html(table)
    assert "<li><b>m DPO</b> beats SFT" in html and "**" not in html and html.count("<tr") == len(table) + 1


def test_headline_columns_carry_human_names_and_units():
    table = headline(sample_rows("m-sft", 0.2, 500), ledger_rows("m-sft", 10, 100))
    table = pd.concat([table, pd.DataFrame([row("m-sft", "cov_r@4", 1.0), row("m-sft", "element_tv", 0.1)])])
    columns = list(wide(table, labels=True).columns)
    assert columns[0] == "Source"
    raw = set(table["metric"])
    assert not [c for c in columns if c in raw or "_" in c], columns  # no code names left
    assert metric_label("cov_r@4") == "COV-R (share, cutoff 4)"
    assert metric_label("all_rules") == "All 4 rules (share)"
    assert all(metric_label(m) != m for m in HEADLINE_METRICS)


def test_the_headline_records_each_sources_sample_count():
    n = 7
    rewards = pd.DataFrame(
        {
            "bcc": ["Nb"] * n,
            "b2": ["AlNi"] * n,
            "master_composition": [""] * n,
            "status": ["unparsed"] * n,
            "all_rules": [False] * n,
            "reward": [NAN] * n,
        }
    )
    empty = np.empty((0, 3))
    rows = sample_rows_of("s", rewards, -1121.0, empty, np.ones((1, 3)), [1.0], pd.Series(dtype=float), 50, 0)
    assert {r["metric"]: r["value"] for r in rows}["samples"] == n


def write_comparison_tables(folder, wdl):
    paths = {}
    for name, frame in (
        ("win_draw_loss", wdl),
        (
            "rule_change",
            pd.DataFrame(
                [{"rule": "all_rules", "sft": 0.0, "dpo": 0.2, "relative_change": NAN, "low": NAN, "high": NAN}]
            ),
        ),
        ("top_bcc", pd.DataFrame([{"source": "m SFT", "rank": 1, "bcc_elements": "{Cr}", "share": 1.0}])),
        (
            "kl",
            pd.DataFrame(
                [
                    {"group": "Cr", "token_kind": "element", "count": 9, "mean_kl": 0.02},
                    {"group": "H", "token_kind": "stray_symbol", "count": 2, "mean_kl": 0.01},
                    {"group": "number", "token_kind": "number", "count": 30, "mean_kl": 0.03},
                ]
            ),
        ),
    ):
        paths[name] = folder / f"{name}.parquet"
        frame.to_parquet(paths[name])
    return paths


def test_summary_opens_with_the_verdict_then_headline_then_table1_and_explains_what_is_missing(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "config_sha256": "0" * 64,
                "git": {"commit": "abc", "dirty": False},
                "databases": {"db": {"sha256_16": "1"}},
            }
        )
    )
    no_samples = wdl_table(NAN, NAN, share=NAN).assign(low=NAN, high=NAN)
    text = render_summary(
        verdict_md="VERDICT TEXT",
        headline_md="HEADLINE TABLE",
        table1_md="TABLE ONE",
        models=["m"],
        sources=["m-sft", "m-dpo", "m-grpo", "m-bestofn", "m-random", "random"],
        model_tables={"m": write_comparison_tables(tmp_path, no_samples)},
        manifest_path=manifest,
        round_sources=["m-dpo_r1", "m-dpo_r2"],
    )
    order = [text.index(s) for s in ("## Verdict", "VERDICT TEXT", "HEADLINE TABLE", "## Table 1", "TABLE ONE")]
    assert order == sorted(order)
    intro = text[: text.index("## Verdict")]
    for method in ("m SFT", "m DPO", "m GRPO", "m best-of-N", "m random search", "m DPO round 2", "random search"):
        assert method in intro
    assert "nan" not in text.lower().replace("nans", "")  # a missing interval says why instead
    assert "no DPO or no SFT samples to resample" in text and "SFT share 0: no relative change" in text
    assert "| H " in text and "stray_symbol" in text and "not an element the model was taught" in text
