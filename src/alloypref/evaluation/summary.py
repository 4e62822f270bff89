"""``results/summary.md``: the run's verdict and tables in one Markdown file for a terminal reader.

Order: what the run compared, the verdict (:mod:`alloypref.evaluation.verdict`), the headline table
(hits per CALPHAD call, the reader's column names and units), Table 1, then per model DPO against
SFT (win/draw/loss, rules, top BCC sets, KL), cross-database agreement and the top candidates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alloypref.evaluation.comparisons import OUTCOME_LABELS, RULE_LABELS, verdict
from alloypref.sources import source_label

#: Why a KL token group is shown: elements, stray symbols and numbers (``evaluation.kl``).
KL_KINDS = ("element", "stray_symbol", "number")


def _table(frame: pd.DataFrame) -> str:
    """A Markdown table; a missing number shows as "–" (tabulate writes NaN as "nan", None as missing)."""
    if frame.empty:
        return "_(empty)_"
    return frame.astype(object).where(frame.notna(), None).to_markdown(index=False, floatfmt=".3f", missingval="–")


def _interval(low: float, high: float, missing: str) -> str:
    if np.isnan(low) or np.isnan(high):
        return f"– ({missing})"
    return f"[{low:.3f}, {high:.3f}]"


def methods_sentence(sources: Sequence[str], round_sources: Sequence[str] = ()) -> str:
    """One sentence naming every method the run compared (its evaluated sources and DPO rounds)."""
    named = [source_label(s) for s in sources]
    rounds = [source_label(s) for s in round_sources]
    text = "This run compares " + ", ".join(named)
    if rounds:
        text += "; the DPO rounds are " + ", ".join(rounds)
    return text + "."


def win_draw_loss_table(wdl: pd.DataFrame) -> str:
    """The win/draw/loss table with the reader's row names; a missing interval says why."""
    shown = pd.DataFrame(
        {
            "Outcome over all pairs": [OUTCOME_LABELS.get(o, o) for o in wdl["outcome"]],
            "Share": wdl["share"],
            "95 % interval": [
                _interval(lo, hi, "no DPO or no SFT samples to resample") for lo, hi in zip(wdl["low"], wdl["high"])
            ],
            "Pairs": wdl["n"],
        }
    )
    return _table(shown)


def rule_change_table(change: pd.DataFrame) -> str:
    """Rule shares SFT -> DPO and the relative change; a missing interval says why."""
    shown = pd.DataFrame(
        {
            "Rule": [RULE_LABELS.get(r, r) for r in change["rule"]],
            "SFT (share)": change["sft"],
            "DPO (share)": change["dpo"],
            "Relative change": change["relative_change"],
            "95 % interval": [
                _interval(lo, hi, "SFT share 0: no relative change") for lo, hi in zip(change["low"], change["high"])
            ],
        }
    )
    return _table(shown)


def kl_table(kl: pd.DataFrame) -> str:
    """KL rows of element symbols, stray symbols and numbers, most frequent first."""
    part = kl[kl["token_kind"].isin(KL_KINDS)].sort_values("count", ascending=False)
    shown = pd.DataFrame(
        {
            "Token group": part["group"],
            "Kind": part["token_kind"],
            "Tokens": part["count"],
            "Mean KL (nats / token)": part["mean_kl"],
        }
    )
    return _table(shown)


KL_NOTE = (
    "Rows of kind `element` are element symbols of the design space as the SFT samples write them; "
    "`stray_symbol` is a capital letter a model wrote where no formula belongs, in a malformed sample "
    "(`H` in `<BCC>Nb6H<BCC>Ti`, `Su` where it began the prompt's 'Suggest' again): not an element the "
    "model was taught. Tables made before this distinction list such letters as elements."
)


def render_summary(
    verdict_md: str,
    headline_md: str,
    table1_md: str,
    models: Sequence[str],
    sources: Sequence[str],
    model_tables: Mapping[str, Mapping[str, Path]],
    manifest_path: Path,
    results_dir: str = "results",
    cross_database_md: str | None = None,
    round_sources: Sequence[str] = (),
    matched_calls_md: str | None = None,
) -> str:
    """The summary Markdown. ``verdict_md``, ``headline_md``, ``table1_md``: the contents of
    ``metrics/verdict.md``, ``metrics/headline.md`` and ``metrics/table1.md``; ``model_tables[model]``
    names that model's ``win_draw_loss``, ``rule_change``, ``top_bcc`` and ``kl`` Parquet files;
    ``sources`` and ``round_sources``: the evaluated sources and the DPO rounds' (their methods are
    named first); ``results_dir`` is where figures are cited; ``cross_database_md`` is the
    cross-database agreement section (:func:`alloypref.evaluation.cross_database.markdown`);
    ``matched_calls_md`` the methods at matched CALPHAD calls
    (:func:`alloypref.evaluation.matched_calls.markdown`)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    figures = f"{results_dir}/figures"
    lines = [
        "# AlloyPref run summary",
        "",
        methods_sentence(sources, round_sources),
        "",
        f"Config sha256 `{manifest['config_sha256'][:16]}`, commit `{manifest['git']['commit']}`"
        f"{' (uncommitted changes)' if manifest['git']['dirty'] else ''}; databases "
        + ", ".join(f"{name} `{d['sha256_16']}`" for name, d in manifest["databases"].items())
        + ". Rewards come from open CALPHAD databases and are not comparable to the paper's Thermo-Calc numbers.",
        "",
        "## Verdict",
        "",
        verdict_md.rstrip(),
        "",
        "## Headline: hits per CALPHAD call",
        "",
        "One row per method; a hit is a candidate triple meeting all four rules, a call one candidate "
        "scored for the first time; shares are fractions 0-1; 95 % intervals in brackets.",
        "",
        headline_md.rstrip(),
        "",
        f"Figures: `{figures}/hits_per_call.png` (hits against calls), `{figures}/rounds.png` "
        "(per-round trajectories).",
        "",
        *(
            [
                "## At matched CALPHAD calls",
                "",
                "Distinct finds saturate as calls grow, so each method of a model is read off at the fewest "
                "calls any of them spent (one run: counts, no interval; config/replicates.yaml pools them "
                "over seeds).",
                "",
                matched_calls_md.rstrip(),
                "",
            ]
            if matched_calls_md
            else []
        ),
        "## Table 1",
        "",
        table1_md.rstrip(),
        "",
        f"Figure: `{figures}/coverage_curves.png` (coverage against the cutoff).",
        "",
    ]
    for model in models:
        paths = model_tables[model]
        wdl = pd.read_parquet(paths["win_draw_loss"])
        change = pd.read_parquet(paths["rule_change"])
        top = pd.read_parquet(paths["top_bcc"])
        kl = pd.read_parquet(paths["kl"])
        difference = wdl.set_index("outcome").loc["win - loss"]
        lines += [
            f"## {model}: DPO against SFT",
            "",
            "Win / draw / loss over all pairs, every DPO sample against every sample of the SFT model's whole "
            "scored stream (bootstrap 95 % intervals):",
            "",
            win_draw_loss_table(wdl),
            "",
            "By P(win) − P(loss): " + verdict(difference["low"], difference["high"], "DPO", "SFT") + ".",
            "",
            "Rules, SFT → DPO (share of samples meeting each rule; relative change (DPO − SFT) / SFT):",
            "",
            rule_change_table(change),
            "",
            "Top-5 BCC element sets (share of parsed samples):",
            "",
            _table(top),
            "",
            "KL(DPO ‖ SFT) per token on the SFT model's samples, element symbols and numbers:",
            "",
            kl_table(kl),
            "",
            KL_NOTE,
            "",
            f"Figures: `{figures}/{model}/` (win_draw_loss, rules, element_frequency, top_bcc, kl).",
            "",
        ]
    if cross_database_md is not None:
        lines += ["## Cross-database agreement", "", cross_database_md, ""]
    lines += ["## Top candidates", ""] + [f"- {s}: `{figures}/top/{s}.png`" for s in sources] + [""]
    return "\n".join(lines)
