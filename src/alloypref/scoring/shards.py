"""Cutting a triples table into shards of balanced estimated cost, each element set whole in one."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from alloypref.composition import FormulaError, master_from_text
from alloypref.config import MAX_SHARDS
from alloypref.measured_rates import SHARD_CANDIDATE_COST_S, shard_cost_s


def element_set_key(bcc, b2, b2_volume_percent, parse_status: str = "ok") -> str:
    """The candidate's element set (the union of its BCC and B2 elements, "-"-joined, sorted).

    "" for a triple the scorer answers without a solve (unparsed, or formulas it cannot read).
    Every database choice is made for one composition of one element set, so keeping element sets
    whole also keeps every (database, element set) system whole.
    """
    if str(parse_status or "ok") != "ok":
        return ""
    try:
        return "-".join(master_from_text(bcc, b2, b2_volume_percent))
    except FormulaError:
        return ""


def balance_groups(costs: Mapping[str, float], n_bins: int) -> dict[str, int]:
    """Assign each group (by name) to one of ``n_bins`` bins, balancing summed cost.

    Longest-processing-time first: groups by decreasing cost (ties: by name) each go to the bin
    with the least cost so far (ties: the lowest index); deterministic, and within 4/3 of the best
    possible largest bin.
    """
    if not 1 <= n_bins <= MAX_SHARDS:
        raise ValueError(f"number of shards must be from 1 to {MAX_SHARDS:,}, got {n_bins}")
    loads = [0.0] * n_bins
    assigned: dict[str, int] = {}
    for name in sorted(costs, key=lambda k: (-costs[k], k)):
        target = min(range(n_bins), key=lambda i: (loads[i], i))
        assigned[name] = target
        loads[target] += costs[name]
    return assigned


def split_triples(triples: pd.DataFrame, n_shards: int) -> list[pd.DataFrame]:
    """Cut triples into ``n_shards`` shards, each element set whole in one shard.

    A new element set costs far more than a candidate of a set already built
    (:data:`alloypref.measured_rates.SHARD_SET_COST_S`), so whole element sets are dealt to shards
    balanced by estimated cost (:func:`balance_groups`): each system is built once in the whole run.
    Only a set whose candidates alone outweigh a fair share (total / ``n_shards``) is cut (by
    ``candidate_id``), into as many pieces as fair shares it spans, each paying the set's build
    again. Within a shard, rows are ordered by element set, then ``candidate_id``. Triples answered
    without a solve are spread one by one. A shard may be empty when there are fewer element sets
    than shards.
    """
    status = triples["parse_status"] if "parse_status" in triples.columns else pd.Series("ok", index=triples.index)
    keys = [
        element_set_key(row.bcc, row.b2, row.b2_volume_percent, parse)
        for row, parse in zip(triples.itertuples(index=False), status)
    ]
    frame = triples.assign(_key=keys)
    # an unsolved row is its own group, so they spread instead of filling one shard
    groups = [key if key else f"~{cid}" for key, cid in zip(keys, frame["candidate_id"].astype(str))]
    frame = _cut_large_groups(frame.assign(_group=groups), n_shards)
    sizes = frame["_group"].value_counts().to_dict()
    costs = {group: _group_cost(group, count) for group, count in sizes.items()}
    shard_of = balance_groups(costs, n_shards)
    frame = frame.assign(_shard=frame["_group"].map(shard_of))
    shards = []
    for index in range(n_shards):
        shard = frame[frame["_shard"] == index].sort_values(["_key", "candidate_id"], kind="stable")
        shards.append(shard.drop(columns=["_key", "_group", "_shard"]).reset_index(drop=True))
    return shards


def _group_cost(group: str, count: int) -> float:
    """Estimated CPU s of ``count`` candidates of a group (an element set, a piece ``set#i`` of one,
    or ``~id``: a row answered without a solve)."""
    return shard_cost_s(0 if group.startswith("~") else len(group.split("#")[0].split("-")), count)


def _cut_large_groups(frame: pd.DataFrame, n_shards: int) -> pd.DataFrame:
    """``frame`` with each group (column ``_group``) whose candidates alone outweigh a fair shard (a
    model that collapsed onto few element sets) cut by ``candidate_id`` into pieces ``group#i`` that
    each fit one, each paying the set's build again."""
    sizes = frame["_group"].value_counts().to_dict()
    fair = sum(_group_cost(g, n) for g, n in sizes.items()) / n_shards
    for group, count in sizes.items():
        build = _group_cost(group, 0)
        capacity = math.floor((fair - build) / SHARD_CANDIDATE_COST_S) if not group.startswith("~") else 0
        pieces = min(count, n_shards, math.ceil(_group_cost(group, count) / fair)) if 1 <= capacity < count else 1
        if pieces > 1:
            rows = frame.index[frame["_group"] == group]
            order = frame.loc[rows, "candidate_id"].astype(str).sort_values(kind="stable").index
            for piece, chunk in enumerate(np.array_split(np.asarray(order), pieces)):
                frame.loc[chunk, "_group"] = f"{group}#{piece}"
    return frame
