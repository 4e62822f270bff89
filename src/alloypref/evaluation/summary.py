"""``results/summary.md``: the run's tables in one Markdown file for a terminal reader."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from alloypref.evaluation.comparisons import verdict


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".3f") if not frame.empty else "_(empty)_"


def render_summary(
    table1_md: str,
    models: Sequence[str],
    sources: Sequence[str],
    model_tables: Mapping[str, Mapping[str, Path]],
    manifest_path: Path,
    results_dir: str = "results",
    cross_database_md: str | None = None,
) -> str:
    """The summary Markdown. ``model_tables[model]`` names that model's ``win_draw_loss``,
    ``rule_change``, ``top_bcc`` and ``kl`` Parquet files; ``results_dir`` is where figures are cited;
    ``cross_database_md`` is the cross-database agreement section
    (:func:`alloypref.evaluation.cross_database.markdown`)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    lines = [
        "# AlloyPref run summary",
        "",
        f"Config sha256 `{manifest['config_sha256'][:16]}`, commit `{manifest['git']['commit']}`"
        f"{' (uncommitted changes)' if manifest['git']['dirty'] else ''}; databases "
        + ", ".join(f"{name} `{d['sha256_16']}`" for name, d in manifest["databases"].items())
        + ". Rewards come from open CALPHAD databases and are not comparable to the paper's Thermo-Calc numbers.",
        "",
        "## Table 1",
        "",
        table1_md,
        f"Figure: `{results_dir}/figures/coverage_curves.png` (coverage against the cutoff).",
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
            _table(wdl),
            "",
            "By P(win) − P(loss): " + verdict(difference["low"], difference["high"], "DPO", "SFT") + ".",
            "",
            "Rules, SFT → DPO:",
            "",
            _table(change),
            "",
            "Top-5 BCC element sets:",
            "",
            _table(top),
            "",
            "KL(DPO ‖ SFT) per token, elements and numbers:",
            "",
            _table(kl[kl["token_kind"].isin(["element", "number"])].sort_values("count", ascending=False)),
            "",
            f"Figures: `{results_dir}/figures/{model}/` (win_draw_loss, rules, element_frequency, kl).",
            "",
        ]
    if cross_database_md is not None:
        lines += ["## Cross-database agreement", "", cross_database_md, ""]
    lines += ["## Top candidates", ""] + [f"- {s}: `{results_dir}/figures/top/{s}.png`" for s in sources] + [""]
    return "\n".join(lines)
