"""The results explorer: one self-contained HTML page of a run's scored candidates.

The page (``results/explorer.html``) filters, sorts and pages every embedded candidate by source,
status, trust, database, the four rule flags, reward and elements, and draws a chosen candidate's
phase fractions against temperature (:mod:`alloypref.evaluation.phase_curves`, the paper's Fig. 9)
beside its database, trust and the reason it is not trusted. Its script, style sheet and data are
inlined (package data ``alloypref/data/explorer``: a small hand-written script, no library), so it
opens from a file, inside the Snakemake report, or on a machine with no network.

At most ``max_candidates`` candidates are embedded (config ``evaluation.explorer_max_candidates``):
each source's candidates ranked by reward, best first, taken in turns across the sources, so every
source keeps an equal share of the limit and a small source keeps all of its candidates. The page
says how many of how many it holds; its table of sources counts every scored candidate.

Every string of the data reaches the page as JSON inside ``<script type="application/json">`` with
``<``, ``>`` and ``&`` escaped, and the script writes it with ``textContent`` only: a formula or a
reason holding markup is shown as text.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd

from alloypref import __version__
from alloypref.evaluation.phase_curves import phase_curves

#: The columns of each embedded row, in order (the page's script reads them by name).
#: ``others_within_10`` is the fourth rule as it holds (not ``others_exceed_10``, its violation);
#: ``min_lattice_mismatch`` is None where BCC and B2 never coexist (the rewards table's cap);
#: the rule flags are None for a candidate that was not scored (status not ``ok``); ``curve`` is the
#: index of its phase curves in the data's ``curves``, None without a phase table.
ROW_COLUMNS = (
    "source",
    "candidate_id",
    "bcc",
    "b2",
    "b2_volume_percent",
    "master_composition",
    "elements",
    "status",
    "reason",
    "database",
    "coverage",
    "trusted",
    "trust_reason",
    "reward",
    "bcc_b2_exist",
    "bcc_forms_first",
    "b2_room_temp",
    "others_within_10",
    "all_rules",
    "highest_bcc_K",
    "highest_b2_K",
    "min_lattice_mismatch",
    "curve",
)
# Phase fractions are embedded to 1e-4 (a chart's pixel is ~3e-3 of the axis); temperatures to 0.01 K.
_FRACTION_DIGITS = 4
_TEMPERATURE_DIGITS = 2
_ASSETS = "explorer"
_PLACEHOLDER = re.compile(r"\{\{(TITLE|DATA)\}\}|/\*(CSS|JS)\*/")


def _number(value) -> float | None:
    """``value`` as a float, None when missing or not finite (JSON has no NaN)."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def select_candidates(rewards: Mapping[str, pd.DataFrame], max_candidates: int) -> dict[str, pd.DataFrame]:
    """The rows of each source's rewards table the page embeds: every row when all sources together
    hold at most ``max_candidates``; otherwise each source's rows ranked by reward (best first, then
    candidate id), taken in turns across the sources (in the mapping's order) up to the limit.

    Raises:
        ValueError: when ``max_candidates`` is below 1.
    """
    if max_candidates < 1:
        raise ValueError(f"evaluation.explorer_max_candidates must be at least 1, got {max_candidates}")
    if sum(len(table) for table in rewards.values()) <= max_candidates:
        return dict(rewards)
    ranked = []
    for order, (source, table) in enumerate(rewards.items()):
        best_first = table.sort_values(["reward", "candidate_id"], ascending=[False, True], kind="stable")
        ranked.append(
            pd.DataFrame({"source": source, "order": order, "rank": range(len(best_first))}, index=best_first.index)
        )
    turns = pd.concat(ranked).sort_values(["rank", "order"], kind="stable").head(max_candidates)
    return {source: table.loc[turns.index[turns["source"] == source]] for source, table in rewards.items()}


def _row(source: str, reward, curve: int | None) -> list:
    """One embedded row (:data:`ROW_COLUMNS`) from a rewards-table row."""
    scored = reward.status == "ok"

    def flag(value: bool) -> bool | None:
        return bool(value) if scored else None

    return [
        source,
        str(reward.candidate_id),
        str(reward.bcc),
        str(reward.b2),
        _number(reward.b2_volume_percent),
        str(reward.master_composition),
        str(reward.elements),
        str(reward.status),
        str(reward.reason),
        str(reward.database),
        _number(reward.coverage),
        bool(reward.trusted),
        str(reward.trust_reason),
        _number(reward.reward),
        flag(reward.bcc_b2_exist),
        flag(reward.bcc_forms_first),
        flag(reward.b2_room_temp),
        flag(not reward.others_exceed_10),
        flag(reward.all_rules),
        _number(reward.highest_bcc_K),
        _number(reward.highest_b2_K),
        _number(reward.min_lattice_mismatch_A) if scored and reward.bcc_b2_exist else None,
        curve,
    ]


def _source_counts(source: str, table: pd.DataFrame, shown: int) -> dict:
    """What the page's table of sources says of one source (counts of candidates, all of them)."""
    ok = table["status"] == "ok"
    return {
        "name": source,
        "candidates": len(table),
        "ok": int(ok.sum()),
        "invalid": int((table["status"] == "invalid").sum()),
        "failed": int((table["status"] == "failed").sum()),
        "trusted": int(table["trusted"].sum()),
        "all_rules": int((ok & table["all_rules"]).sum()),
        "trusted_all_rules": int((ok & table["all_rules"] & table["trusted"]).sum()),
        "shown": shown,
    }


def explorer_data(
    scored: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], max_candidates: int, mismatch: str = "absolute"
) -> dict:
    """The data the page embeds, from each source's (rewards, phase tables) pair
    (:data:`alloypref.scoring.REWARDS_SCHEMA`, :data:`alloypref.scoring.SCORED_TABLES_SCHEMA`), at
    most ``max_candidates`` candidates (:func:`select_candidates`).

    ``mismatch``: config ``reward.mismatch``, the lattice mismatch's kind (``absolute``: Å).
    Identical phase curves (a duplicate candidate's, the final DPO policy's copy of its round) and
    temperature grids are stored once.
    """
    rewards = {source: pair[0] for source, pair in scored.items()}
    chosen = select_candidates(rewards, max_candidates)
    grids: list[list[float]] = []
    grid_index: dict[tuple, int] = {}
    curves: list[dict] = []
    curve_index: dict[str, int] = {}
    rows: list[list] = []
    for source, (_, tables) in scored.items():
        by_candidate = dict(tuple(tables.groupby("candidate_id", sort=False))) if not tables.empty else {}
        for reward in chosen[source].itertuples(index=False):
            table = by_candidate.get(reward.candidate_id)
            curve = None
            if table is not None:
                found = phase_curves(table)
                grid = tuple(round(t, _TEMPERATURE_DIGITS) for t in found.temperatures_K)
                g = grid_index.setdefault(grid, len(grids))
                if g == len(grids):
                    grids.append(list(grid))
                entry = {
                    "g": g,
                    "c": [
                        [c.phase, c.structure, [round(f, _FRACTION_DIGITS) for f in c.fractions]] for c in found.curves
                    ],
                }
                key = json.dumps(entry, sort_keys=True)
                curve = curve_index.setdefault(key, len(curves))
                if curve == len(curves):
                    curves.append(entry)
            rows.append(_row(source, reward, curve))
    total = sum(len(table) for table in rewards.values())
    shown = len(rows)
    limited = shown < total
    note = (
        f"{shown} of {total} scored candidates embedded: the best by reward of each source, in equal shares "
        f"(config evaluation.explorer_max_candidates = {max_candidates})."
        if limited
        else f"All {total} scored candidates of {len(scored)} sources "
        f"(the page embeds at most {max_candidates}: config evaluation.explorer_max_candidates)."
    )
    return {
        "note": note,
        "footer": f"alloypref {__version__}. Phase fractions are CALPHAD equilibria on the open database named "
        "for each candidate; rewards follow the paper's Eq. 1.",
        "limit": max_candidates,
        "total": total,
        "shown": shown,
        "mismatch_unit": "Å" if mismatch == "absolute" else "",
        "sources": [_source_counts(source, rewards[source], len(chosen[source])) for source in scored],
        "columns": list(ROW_COLUMNS),
        "rows": rows,
        "grids": grids,
        "curves": curves,
    }


def _asset(name: str) -> str:
    return resources.files("alloypref.data").joinpath(_ASSETS, name).read_text(encoding="utf-8")


def script_json(data: dict) -> str:
    """``data`` as JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` written as
    ``\\u`` escapes, so no string can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_explorer(data: dict, title: str) -> str:
    """The page: the template with ``title`` (HTML-escaped), the style sheet, the script and ``data``
    (:func:`script_json`) inlined, in one pass (a value holding a placeholder stays as it is)."""
    css, js = _asset("explorer.css"), _asset("explorer.js")
    for name, text in (("explorer.css", css), ("explorer.js", js)):
        if re.search(r"</(script|style)", text, re.IGNORECASE):  # would end its element early
            raise ValueError(f"package data {_ASSETS}/{name} holds a closing script or style tag")
    values = {"TITLE": html.escape(title), "DATA": script_json(data), "CSS": css, "JS": js}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1) or m.group(2)], _asset("explorer.html"))


def read_scored(
    sources: list[str], rewards_paths: list[Path], tables_paths: list[Path], max_candidates: int
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Each source's (rewards, phase tables) from its Parquet files (in ``sources`` order), the
    phase tables cut to the candidates :func:`select_candidates` embeds as each is read, so at most
    one source's whole table is in memory (a paper-scale run's are hundreds of MB together)."""
    from alloypref.io import read_parquet
    from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA

    if not len(sources) == len(rewards_paths) == len(tables_paths):
        raise ValueError(
            f"{len(sources)} sources, {len(rewards_paths)} rewards and {len(tables_paths)} phase-table files"
        )
    rewards = {source: read_parquet(path, REWARDS_SCHEMA) for source, path in zip(sources, rewards_paths)}
    chosen = select_candidates(rewards, max_candidates)
    scored = {}
    for source, path in zip(sources, tables_paths):
        tables = read_parquet(path, SCORED_TABLES_SCHEMA)
        kept = tables[tables["candidate_id"].isin(set(chosen[source]["candidate_id"]))]
        scored[source] = (rewards[source], kept.reset_index(drop=True))
    return scored


def write_explorer(
    scored: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
    path: Path,
    max_candidates: int,
    title: str = "AlloyPref results explorer",
    mismatch: str = "absolute",
) -> dict:
    """Write the page of ``scored`` (:func:`explorer_data`) to ``path``; returns its data's counts
    (``total``, ``shown``, ``limit``) and the file's size in bytes (``bytes``)."""
    data = explorer_data(scored, max_candidates, mismatch)
    page = render_explorer(data, title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return {"total": data["total"], "shown": data["shown"], "limit": data["limit"], "bytes": path.stat().st_size}
