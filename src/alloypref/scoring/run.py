"""Scoring a table of triples: parse, group by system, solve, record, checkpoint (the orchestration).

* Candidates whose master compositions agree to 1e-4 in every atomic fraction are computed once.
* Each candidate is solved on the databases ``calphad.database_aggregate`` names (the trust
  ranking's first, or every trusted one under ``min``, keeping the lowest reward).
* Solves are grouped by (database, element set), so each compiled system is built or loaded once
  per shard; the costliest systems start first.
* A bad formula is an ``invalid`` row; a triple whose text the sampler could not parse cleanly
  (``parse_status`` other than ``ok``) is an ``invalid`` row whose reason starts with that status.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd

from alloypref.calphad.backend import CalphadBackend
from alloypref.calphad.trust import TrustedChoice, TrustEvidence
from alloypref.calphad.worker import SolverWorker, solve_groups
from alloypref.composition import FormulaError, canonical_formula, master_from_text, rounded
from alloypref.io import write_parquet
from alloypref.measured_rates import shard_cost_s
from alloypref.scoring.checkpoint import job_key, load_checkpoint, save_checkpoint
from alloypref.scoring.schemas import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA, concat_tables
from alloypref.scoring.settings import ScoringSettings
from alloypref.scoring.solve import base_row, choose_databases, record_lowest, solve_here
from alloypref.scoring.triples import read_triples, with_parse_status

log = logging.getLogger(__name__)

#: Columns a duplicate candidate keeps as its own; it copies every other from the candidate solved.
_OWN_COLUMNS = ("candidate_id", "bcc", "b2", "b2_volume_percent", "seconds")


def score_triples(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringSettings,
    checkpoint_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    key_extra: Mapping | None = None,
    trust_evidence: TrustEvidence | None = None,
    database: str | None = None,
    solver: SolverWorker | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rewards and phase tables of every triple (input order kept).

    Each candidate is scored on the first of ``backend.database_choices`` under ``trust_evidence``
    (trusted databases first, then fewer reasons, then coverage; none: every database untrusted, so
    coverage decides), or on ``database`` when given; under ``options.database_aggregate`` ``min`` it
    is solved on every database trusted for it and keeps the lowest reward (see
    :func:`~alloypref.scoring.solve.choose_databases`). Its row names the database kept, whether it
    is ``trusted`` for it and, if not, why (``trust_reason``), and ``databases_solved``. A candidate
    no database (or not the forced one) can compute, an element it lacks, is an ``invalid`` row.

    ``solver``: a running :class:`SolverWorker` of ``backend`` to solve in, one candidate after another
    (a caller that scores many small batches keeps one warm between calls); by default
    ``options.workers`` workers are started for this call (``options.isolate``) and stopped at its end.

    With ``checkpoint_dir``, finished candidates are saved there every ``options.checkpoint_every``
    candidates with the :func:`~alloypref.scoring.checkpoint.job_key` of this call (``key_extra``
    joins it: the code version, say), and skipped when a call with the same key is repeated after a
    crash.
    """
    done_rows: list[dict] = []
    done_tables: list[pd.DataFrame] = []
    key = ""
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        key = job_key(triples, backend, options, key_extra, trust_evidence, database)
        done_rows, done_tables = load_checkpoint(checkpoint_dir, key)
    done_ids = {row["candidate_id"] for row in done_rows}
    tick = progress or (lambda n: None)

    # Parse every triple first: invalid ones are answered at once, the rest grouped by composition.
    new_rows, pending, compositions = _parse(triples, done_ids, options, tick)
    choices = {
        k: choose_databases(backend, compositions[k], trust_evidence, database, options.database_aggregate)
        for k in pending
    }
    new_rows += _answer_unsolvable(pending, compositions, choices, database, tick)
    groups = _solve_order(pending, choices)
    requests = [
        [(compositions[k], options.temperatures_K, choices[k][i].database) for k, i in group] for group in groups
    ]
    if solver is not None:
        answers = solve_here(solver, requests)
    elif options.isolate:
        answers = solve_groups(backend, requests, options.workers, options.timeout_s)
    else:
        answers = solve_here(backend, requests)

    new_tables: list[pd.DataFrame] = []
    since_checkpoint = 0
    answered: dict[tuple, dict[int, tuple]] = {}  # composition -> choice index -> (answer, seconds)
    for g, r, answer, seconds in answers:
        k, i = groups[g][r]
        got = answered.setdefault(k, {})
        got[i] = (answer, seconds)
        if len(got) < len(choices[k]):
            continue  # recorded once every database of the composition has answered
        solved = [got.pop(i) for i in range(len(choices[k]))]
        rows, tables = _record_duplicates(pending[k], choices[k], solved, options)
        new_rows += rows
        new_tables += tables
        tick(len(rows))
        since_checkpoint += len(rows)
        if since_checkpoint >= options.checkpoint_every:
            if checkpoint_dir is not None:
                save_checkpoint(checkpoint_dir, key, done_rows + new_rows, done_tables + new_tables)
            since_checkpoint = 0
    rewards = _in_input_order(triples, done_rows + new_rows, checkpoint_dir)
    return rewards, concat_tables(done_tables + new_tables)


def _parse(
    triples: pd.DataFrame, done_ids: set[str], options: ScoringSettings, tick: Callable[[int], None]
) -> tuple[list[dict], dict[tuple, list[dict]], dict[tuple, dict[str, float]]]:
    """The triples not in ``done_ids``: rows answered now (unparsed or unreadable formulas, each
    ticked), and the rest by rounded master composition (with that composition)."""
    answered: list[dict] = []
    pending: dict[tuple, list[dict]] = {}
    compositions: dict[tuple, dict[str, float]] = {}
    for triple in with_parse_status(triples).itertuples(index=False):
        if str(triple.candidate_id) in done_ids:
            continue
        row = base_row(triple, options)
        if triple.parse_status != "ok":
            reason = triple.parse_reason
            row["reason"] = f"{triple.parse_status}: {reason}" if reason else triple.parse_status
            answered.append(row)
            tick(1)
            continue
        try:
            master = master_from_text(triple.bcc, triple.b2, triple.b2_volume_percent)
        except FormulaError as exc:
            row["reason"] = str(exc)
            answered.append(row)
            tick(1)
            continue
        row["master_composition"] = canonical_formula(master)
        row["elements"] = "-".join(master)
        key_of_master = rounded(master)
        compositions.setdefault(key_of_master, master)
        pending.setdefault(key_of_master, []).append(row)
    return answered, pending, compositions


def _answer_unsolvable(
    pending: dict[tuple, list[dict]],
    compositions: dict[tuple, dict[str, float]],
    choices: Mapping[tuple, list[TrustedChoice]],
    database: str | None,
    tick: Callable[[int], None],
) -> list[dict]:
    """Remove from ``pending`` the compositions no database (or not the forced ``database``) can
    compute, and return their rows, ``invalid`` and untrusted with the reason (each ticked)."""
    holder = f"database {database!r} does not hold" if database else "no configured database holds"
    answered = []
    for k in [k for k in pending if not choices[k]]:
        for row in pending.pop(k):
            row["status"], row["reason"] = "invalid", f"{holder} all of {sorted(compositions[k])}"
            row["trust_reason"] = row["reason"]
            answered.append(row)
            tick(1)
    return answered


def _solve_order(
    pending: Mapping[tuple, list[dict]], choices: Mapping[tuple, list[TrustedChoice]]
) -> list[list[tuple[tuple, int]]]:
    """The solves of the pending compositions, (composition, index of its database choice), grouped by
    (database, element set), each group going whole to one worker (which builds or loads its
    compiled system once), the costliest groups first."""
    solves = [(k, i) for k in pending for i in range(len(choices[k]))]
    by_system: dict[tuple, list[tuple[tuple, int]]] = {}
    for k, i in sorted(solves, key=lambda s: (choices[s[0]][s[1]].database, tuple(el for el, _ in s[0]), s)):
        by_system.setdefault((choices[k][i].database, tuple(el for el, _ in k)), []).append((k, i))
    systems = sorted(by_system, key=lambda s: (-shard_cost_s(len(s[1]), len(by_system[s])), s))
    return [by_system[s] for s in systems]


def _record_duplicates(
    rows: list[dict], choices: list[TrustedChoice], solved: list[tuple], options: ScoringSettings
) -> tuple[list[dict], list[pd.DataFrame]]:
    """Record the solves of one composition (``solved``: (answer, seconds) on each of ``choices``) in
    the first of ``rows`` (candidates of that composition) and copy it to the others; their rows and
    phase tables (one per candidate with a non-empty table).

    A copy keeps ``databases_solved``: the ledger counts each new triple as the solves its reward
    rests on (:mod:`alloypref.ledger`), while ``seconds`` (0) shows it cost no solve here."""
    first = rows[0]
    table = record_lowest(first, choices, solved, options)
    tables: list[pd.DataFrame] = []
    for row in rows:
        if row is not first:
            for column in REWARDS_SCHEMA.names:
                if column not in _OWN_COLUMNS:
                    row[column] = first[column]
        if table is not None and not table.empty:
            tables.append(table.assign(candidate_id=row["candidate_id"]))
    if first["status"] != "ok":
        log.warning("candidate %s (%s): %s", first["candidate_id"], first["master_composition"], first["reason"])
    return rows, tables


def _in_input_order(triples: pd.DataFrame, rows: Iterable[dict], checkpoint_dir: Path | None) -> pd.DataFrame:
    """The rewards table of ``rows``, in the order of ``triples``; one row for each triple or an error."""
    order = {cid: i for i, cid in enumerate(triples["candidate_id"].astype(str))}
    rewards = pd.DataFrame(list(rows), columns=REWARDS_SCHEMA.names)
    if len(rewards) != len(order) or set(rewards["candidate_id"]) != set(order):
        # a checkpoint of other triples would show here; the key should have stopped it
        raise RuntimeError(f"scoring produced {len(rewards)} rows for {len(order)} triples; delete {checkpoint_dir}")
    return rewards.sort_values("candidate_id", key=lambda s: s.map(order)).reset_index(drop=True)


def score_one(
    bcc: str,
    b2: str,
    b2_volume_percent: float,
    backend: CalphadBackend,
    options: ScoringSettings,
    trust_evidence: TrustEvidence | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Score one triple: its reward row (see :mod:`alloypref.scoring.schemas`; ``trusted`` and
    ``trust_reason`` say whether ``trust_evidence`` trusts its database) and its phase table."""
    rows, tables = score_triples(
        pd.DataFrame([{"candidate_id": "cli", "bcc": bcc, "b2": b2, "b2_volume_percent": b2_volume_percent}]),
        backend,
        options,
        trust_evidence=trust_evidence,
    )
    row = rows.iloc[0].to_dict()
    return row, tables.drop(columns="candidate_id")


def score_file(
    triples_path: Path,
    rewards_path: Path,
    tables_path: Path,
    backend: CalphadBackend,
    options: ScoringSettings,
    show_progress: bool = True,
    key_extra: Mapping | None = None,
    trust_evidence: TrustEvidence | None = None,
) -> pd.DataFrame:
    """Score a triples file into the rewards and phase-table Parquet files, resuming a crashed run.

    The checkpoint (``<rewards>.checkpoint/``, one file) is keyed by
    :func:`~alloypref.scoring.checkpoint.job_key` with ``key_extra`` (the rule's params); one made
    from anything else is discarded. With ``show_progress``, ``k/N done, ETA`` lines go to the log
    (:class:`alloypref.progress.ProgressLog`).
    """
    from alloypref.progress import ProgressLog

    triples = read_triples(triples_path)
    checkpoint_dir = Path(str(rewards_path) + ".checkpoint")
    progress = (
        ProgressLog(len(triples), f"scoring {Path(triples_path).name}", log, unit="candidates")
        if show_progress
        else None
    )
    rewards, tables = score_triples(triples, backend, options, checkpoint_dir, progress, key_extra, trust_evidence)
    write_parquet(tables, tables_path, SCORED_TABLES_SCHEMA)
    write_parquet(rewards, rewards_path, REWARDS_SCHEMA)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    counts = rewards["status"].value_counts().to_dict()
    log.info("scored %d candidates from %s: %s", len(rewards), triples_path, counts)
    return rewards
