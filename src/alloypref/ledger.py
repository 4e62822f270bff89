"""The simulator-call ledger: how many CALPHAD calls each method spent, and what they found.

One *call* is one database solve of a candidate triple (BCC formula, B2 formula, B2 volume %) whose
master composition could be formed (the scorer sends it to the solver) and that is new to the
method: a triple the method already had scored earlier in its history is answered by the cache and
costs nothing. A new triple costs its ``databases_solved`` (the scorer's column: 1 under
``calphad.database_aggregate: first``, every trusted database under ``min``) and at least one call
(one no database holds counts one, as does every triple of a rewards table without the column). Triples
are keyed by their canonical formulas (elements sorted, atomic percent to 2 decimals) and the volume
rounded to 0.01 %, so ``NbMo`` and ``Mo1Nb1`` are the same candidate. Unparsed samples (no master
composition) never reach the solver and cost no call.

A *hit* is a call whose candidate meets all four rules of Eq. 1 (``status`` ``ok`` and ``all_rules``).
A hit counts per triple, so a new volume % of a known pair is a new hit. The headline counts what
means a new alloy instead: a *trusted pair* is a distinct (BCC, B2) pair (canonical formulas, any
volume) with a hit whose database is ``trusted`` for it (weakest-link trust,
:mod:`alloypref.calphad.trust`), counted in the first step that found it; a *trusted system* is a
distinct element system (the master composition's elements) of a trusted pair. Each is counted per
1,000 calls.

Ledger table (``results/ledger/{source}.parquet``), one row per step of a method, in order:

=================  =======  ==================================================================
column             dtype    meaning
=================  =======  ==================================================================
source             string   the method (a Table 1 source, e.g. ``tiny-dpo``, ``random``)
step               string   the step that spent the calls (``sft_samples``, ``round1``, ...)
calls              int64    database solves of the new unique candidates of this step
cumulative_calls   int64    calls of this and every earlier step
hits               int64    new unique candidates meeting all four rules in this step
cumulative_hits    int64    hits of this and every earlier step
trusted_pairs      int64    (BCC, B2) pairs first found as trusted hits in this step
cumulative_...     int64    trusted pairs of this and every earlier step
trusted_systems    int64    element systems first found as trusted pairs in this step
cumulative_...     int64    trusted systems of this and every earlier step
=================  =======  ==================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.composition import FormulaError, canonical_formula, master_from_text, parse_formula

LEDGER_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("step", pa.string()),
        ("calls", pa.int64()),
        ("cumulative_calls", pa.int64()),
        ("hits", pa.int64()),
        ("cumulative_hits", pa.int64()),
        ("trusted_pairs", pa.int64()),
        ("cumulative_trusted_pairs", pa.int64()),
        ("trusted_systems", pa.int64()),
        ("cumulative_trusted_systems", pa.int64()),
    ]
)

#: Decimals of B2 volume % in a candidate's key.
VOLUME_DECIMALS = 2

#: Columns a scored step must have (the scorer's reward rows, :data:`alloypref.scoring.REWARDS_SCHEMA`).
REQUIRED_COLUMNS = (
    "bcc",
    "b2",
    "b2_volume_percent",
    "master_composition",
    "elements",
    "status",
    "all_rules",
    "trusted",
)


def _formula_key(formula: str) -> str:
    try:
        return canonical_formula(parse_formula(formula))
    except FormulaError:
        return str(formula).strip()


def _key(bcc: str, b2: str, volume: float) -> str:
    return f"{_formula_key(bcc)}|{_formula_key(b2)}|{round(float(volume), VOLUME_DECIMALS):.{VOLUME_DECIMALS}f}"


def candidate_keys(rewards: pd.DataFrame) -> pd.Series:
    """The ledger key of each scored row (None for rows that never reach the solver)."""
    keys = [
        _key(row.bcc, row.b2, row.b2_volume_percent) if row.master_composition else None
        for row in rewards.itertuples(index=False)
    ]
    return pd.Series(keys, index=rewards.index, dtype=object)


def triple_keys(triples: pd.DataFrame) -> pd.Series:
    """The ledger key of each row of a triples or samples table before scoring (None where the
    scorer would not call the solver: a parse status other than ``ok``, or no master composition)."""
    status = triples["status"] if "status" in triples.columns else pd.Series("ok", index=triples.index)
    keys = []
    for row, parsed in zip(triples.itertuples(index=False), status.fillna("ok") == "ok"):
        try:
            formed = parsed and bool(master_from_text(row.bcc, row.b2, row.b2_volume_percent))
        except (FormulaError, TypeError, ValueError):
            formed = False
        keys.append(_key(row.bcc, row.b2, row.b2_volume_percent) if formed else None)
    return pd.Series(keys, index=triples.index, dtype=object)


def budget_prefix(pool: pd.DataFrame, budget: int) -> pd.DataFrame:
    """The shortest prefix of ``pool`` (triples or samples, in drawing order) holding ``budget`` unique
    candidates that reach the solver: a baseline given exactly the calls another method spent. A pool
    with fewer unique candidates is returned whole (its ledger then shows the shortfall)."""
    if budget < 0:
        raise ValueError(f"a call budget cannot be negative, got {budget}")
    seen: set[str] = set()
    for position, key in enumerate(triple_keys(pool)):
        if key is None or key in seen:
            continue
        if len(seen) == budget:
            return pool.iloc[:position].reset_index(drop=True)
        seen.add(key)
    return pool.reset_index(drop=True)


def _hit_flags(rewards: pd.DataFrame) -> np.ndarray:
    return (rewards["all_rules"].astype(bool) & (rewards["status"] == "ok")).to_numpy()


def _trusted_hit_flags(rewards: pd.DataFrame) -> np.ndarray:
    return _hit_flags(rewards) & rewards["trusted"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _call_costs(rewards: pd.DataFrame) -> np.ndarray:
    """CALPHAD calls each row costs when its candidate is new: its ``databases_solved``, at least 1
    (1 for a table without the column, scored before the scorer counted its solves)."""
    if "databases_solved" not in rewards.columns:
        return np.ones(len(rewards), dtype=np.int64)
    solves = pd.to_numeric(rewards["databases_solved"], errors="raise").fillna(0).to_numpy(dtype=np.int64)
    return np.maximum(solves, 1)


def pair_key(bcc: str, b2: str) -> str:
    """A (BCC, B2) pair's key: both formulas canonical (``NbMo`` and ``MoNb`` are one pair), any volume."""
    return f"{_formula_key(bcc)}|{_formula_key(b2)}"


def _discoveries(steps: Sequence[tuple[str, pd.DataFrame]], source: str):
    """Walk a method's scored steps in order and yield, after each row that reaches the solver,
    (step index, cumulative calls, cumulative hits, trusted pairs so far, trusted systems so far):
    a candidate costs its calls and counts as a hit only the first time it is scored; a repeat of a
    called candidate is the same pair, so the sets ignore it."""
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"ledger of {source}: step names repeat: {names}")
    seen: set[str] = set()
    pairs_seen: set[str] = set()
    systems_seen: set[str] = set()
    calls = hits = 0
    for index, (name, rewards) in enumerate(steps):
        missing = [column for column in REQUIRED_COLUMNS if column not in rewards.columns]
        if missing:
            raise ValueError(f"ledger of {source}, step {name}: reward rows lack columns {missing}")
        for row, key, hit, trusted_hit, cost in zip(
            rewards.itertuples(index=False),
            candidate_keys(rewards),
            _hit_flags(rewards),
            _trusted_hit_flags(rewards),
            _call_costs(rewards),
        ):
            if key is None:
                continue
            if trusted_hit:
                pairs_seen.add(pair_key(row.bcc, row.b2))
                systems_seen.add(str(row.elements))
            if key not in seen:
                seen.add(key)
                calls += int(cost)
                hits += int(hit)
            yield index, calls, hits, len(pairs_seen), len(systems_seen)


def ledger_rows(steps: Sequence[tuple[str, pd.DataFrame]], source: str) -> pd.DataFrame:
    """The ledger of one method from its scored steps, in the order they ran.

    ``steps``: (step name, reward rows of the candidates that step had scored) pairs; the reward rows
    have at least :data:`REQUIRED_COLUMNS`. Candidates are deduplicated within and across steps: a
    candidate counts as a call (and, when it meets the four rules, a hit) only in the first step that
    scored it. Returns a table of :data:`LEDGER_SCHEMA`.
    """
    after_step: list[tuple | None] = [None] * len(steps)  # the totals after each step
    for index, *totals in _discoveries(steps, source):
        after_step[index] = tuple(totals)
    rows, before = [], (0, 0, 0, 0)
    for (name, _), totals in zip(steps, after_step):
        totals = totals or before  # a step with no row for the solver keeps the totals before it
        rows.append(
            {
                "source": source,
                "step": name,
                "calls": totals[0] - before[0],
                "cumulative_calls": totals[0],
                "hits": totals[1] - before[1],
                "cumulative_hits": totals[1],
                "trusted_pairs": totals[2] - before[2],
                "cumulative_trusted_pairs": totals[2],
                "trusted_systems": totals[3] - before[3],
                "cumulative_trusted_systems": totals[3],
            }
        )
        before = totals
    counts = [name for name in LEDGER_SCHEMA.names if name not in ("source", "step")]
    return pd.DataFrame(rows, columns=LEDGER_SCHEMA.names).astype(dict.fromkeys(counts, "int64"))


def hits_per_1000(ledger: pd.DataFrame, count: str = "hits") -> float:
    """A ledger count over the whole ledger per 1,000 CALPHAD calls (NaN without calls): ``hits``
    (unique all-rules candidates), ``trusted_pairs`` or ``trusted_systems`` (module doc)."""
    calls = int(ledger["calls"].sum())
    return 1000.0 * int(ledger[count].sum()) / calls if calls else float("nan")


def hit_curve(rewards_in_order: pd.DataFrame) -> pd.DataFrame:
    """Cumulative calls (as the ledger counts them) and hits after each new candidate, in the order
    the rows were scored.

    Columns ``calls`` and ``hits`` (int64), one row per new candidate: the curve of hits against calls.
    """
    keys = candidate_keys(rewards_in_order)
    hits = _hit_flags(rewards_in_order)
    seen: set[str] = set()
    new_hits, new_calls = [], []
    for key, hit, cost in zip(keys, hits, _call_costs(rewards_in_order)):
        if key is None or key in seen:
            continue
        seen.add(key)
        new_hits.append(int(hit))
        new_calls.append(int(cost))
    return pd.DataFrame(
        {
            "calls": np.cumsum(np.asarray(new_calls, dtype=np.int64)),
            "hits": np.cumsum(np.asarray(new_hits, dtype=np.int64)),
        }
    )


#: Columns of :func:`discovery_curve`.
CURVE_COLUMNS = ("calls", "hits", "trusted_pairs", "trusted_systems")


def discovery_curve(steps: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """What a method had found after each scored row that reached the solver, in the order its steps
    (as :func:`ledger_rows` takes them) and their rows ran: cumulative calls, hits, trusted pairs and
    trusted systems, counted as the ledger counts them (a repeated candidate costs no call and is no
    new hit). The last row equals the ledger's totals. Columns :data:`CURVE_COLUMNS` (int64)."""
    points = [totals for _, *totals in _discoveries(steps, "a discovery curve")]
    return pd.DataFrame(points, columns=list(CURVE_COLUMNS), dtype="int64")


def at_calls(curve: pd.DataFrame, budget: int) -> dict[str, int]:
    """The counts of a :func:`discovery_curve` when the method had spent at most ``budget`` calls: its
    last row within the budget (all zero before the first call)."""
    if budget < 0:
        raise ValueError(f"a call budget cannot be negative, got {budget}")
    within = curve[curve["calls"] <= budget]
    if within.empty:
        return dict.fromkeys(CURVE_COLUMNS, 0)
    return {column: int(within[column].iloc[-1]) for column in CURVE_COLUMNS}


def total_calls(ledger: pd.DataFrame) -> int:
    """All calls of a ledger."""
    return int(ledger["calls"].sum())
