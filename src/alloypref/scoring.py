"""Scoring at scale: a table of triples in, rewards and phase tables out.

* Candidates whose master compositions agree to 1e-4 in every atomic fraction are computed once.
* Candidates are solved grouped by (database, element set), so each compiled system is built or
  loaded once per shard.
* Nothing kills a shard: a bad formula is an ``invalid`` row, a solver error or a timeout is a
  ``failed`` row with its reason, both with the worst reward.
* Progress is checkpointed every ``checkpoint_every`` candidates beside the output; a rerun after a
  crash resumes from the checkpoint.

Rewards table (one row per input triple):

========================  ========  ===========================================================
column                    dtype     meaning
========================  ========  ===========================================================
candidate_id              string    id from the triples table
bcc, b2                   string    formulas as given
b2_volume_percent         float64   B2 volume % as given (0-100)
master_composition        string    canonical master composition (at.%, 2 decimals); "" if invalid
elements                  string    elements of the master composition, "-"-joined
status                    string    ``ok``, ``invalid`` (unusable input) or ``failed`` (solver)
reason                    string    why not ok; "" when ok
database                  string    database used; "" when none
coverage                  float64   share of element pairs that database covers (0-1)
low_coverage              bool      coverage below ``calphad.min_coverage``
reward                    float64   Eq. 1; the worst reward unless ok
bcc_b2_exist ...          bool      the four rule flags (``others_exceed_10`` True = violated)
min_lattice_mismatch_A    float64   Å; the cap where BCC and B2 never coexist
highest_bcc_K             float64   highest temperature with BCC present (K); NaN if none
highest_b2_K              float64   highest temperature with B2 present (K); NaN if none
all_rules                 bool      the four rules hold
seconds                   float64   wall time spent on this candidate (0 for a duplicate)
========================  ========  ===========================================================

Phase tables: ``candidate_id`` followed by the columns of :mod:`alloypref.calphad.tables`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from alloypref.calphad.backend import CalphadBackend, CalphadError
from alloypref.calphad.tables import PHASE_TABLE_SCHEMA
from alloypref.composition import FormulaError, canonical_formula, master_from_text, rounded
from alloypref.io import read_parquet, split_contiguous, write_parquet
from alloypref.reward import RewardConfig, compute_reward

log = logging.getLogger(__name__)

TRIPLES_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
    ]
)

REWARDS_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
        ("master_composition", pa.string()),
        ("elements", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("database", pa.string()),
        ("coverage", pa.float64()),
        ("low_coverage", pa.bool_()),
        ("reward", pa.float64()),
        ("bcc_b2_exist", pa.bool_()),
        ("bcc_forms_first", pa.bool_()),
        ("b2_room_temp", pa.bool_()),
        ("others_exceed_10", pa.bool_()),
        ("min_lattice_mismatch_A", pa.float64()),
        ("highest_bcc_K", pa.float64()),
        ("highest_b2_K", pa.float64()),
        ("all_rules", pa.bool_()),
        ("seconds", pa.float64()),
    ]
)

SCORED_TABLES_SCHEMA = pa.schema([("candidate_id", pa.string()), *PHASE_TABLE_SCHEMA])


@dataclass(frozen=True)
class ScoringOptions:
    """How a shard is scored (temperatures in K, times in s)."""

    temperatures_K: tuple[float, ...]
    reward: RewardConfig = RewardConfig()
    min_coverage: float = 0.5
    timeout_s: float = 300.0
    checkpoint_every: int = 10


class CandidateTimeout(CalphadError):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CandidateTimeout` after ``seconds`` (main thread on POSIX; else no limit)."""
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CandidateTimeout(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_triples(path: str | Path) -> pd.DataFrame:
    """Triples from Parquet or CSV, checked for the required columns (named in the error)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such triples file")
        frame = pd.read_csv(path, dtype={"candidate_id": str, "bcc": str, "b2": str})
    else:
        frame = read_parquet(path)
    missing = [c for c in TRIPLES_SCHEMA.names if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: triples table lacks columns {missing} (needs {TRIPLES_SCHEMA.names})")
    if frame["candidate_id"].duplicated().any():
        duplicated = frame.loc[frame["candidate_id"].duplicated(), "candidate_id"].tolist()[:5]
        raise ValueError(f"{path}: candidate_id values repeat, e.g. {duplicated}")
    frame = frame.copy()
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    frame["b2_volume_percent"] = pd.to_numeric(frame["b2_volume_percent"], errors="coerce")
    return frame


def split_triples(triples: pd.DataFrame, n_shards: int) -> list[pd.DataFrame]:
    """Cut triples into ``n_shards`` contiguous pieces after sorting by element set.

    Candidates of one element set share a compiled system, so keeping them together saves
    compilations; sizes differ by at most one row.
    """

    def element_key(row) -> str:
        try:
            return "-".join(master_from_text(row.bcc, row.b2, row.b2_volume_percent))
        except FormulaError:
            return "~invalid"

    keys = [element_key(row) for row in triples.itertuples(index=False)]
    shards = split_contiguous(triples.assign(_key=keys), n_shards, ["_key", "candidate_id"])
    return [shard.drop(columns="_key") for shard in shards]


def _base_row(triple, options: ScoringOptions) -> dict:
    worst = options.reward.worst_reward
    return {
        "candidate_id": str(triple.candidate_id),
        "bcc": str(triple.bcc),
        "b2": str(triple.b2),
        "b2_volume_percent": float(triple.b2_volume_percent),
        "master_composition": "",
        "elements": "",
        "status": "invalid",
        "reason": "",
        "database": "",
        "coverage": 0.0,
        "low_coverage": True,
        "reward": worst,
        "bcc_b2_exist": False,
        "bcc_forms_first": False,
        "b2_room_temp": False,
        "others_exceed_10": True,
        "min_lattice_mismatch_A": options.reward.mismatch_cap,
        "highest_bcc_K": float("nan"),
        "highest_b2_K": float("nan"),
        "all_rules": False,
        "seconds": 0.0,
    }


def score_one(
    bcc: str, b2: str, b2_volume_percent: float, backend: CalphadBackend, options: ScoringOptions
) -> tuple[dict, pd.DataFrame]:
    """Score one triple: its reward row (see module doc) and its phase table."""
    rows, tables = score_triples(
        pd.DataFrame([{"candidate_id": "cli", "bcc": bcc, "b2": b2, "b2_volume_percent": b2_volume_percent}]),
        backend,
        options,
    )
    row = rows.iloc[0].to_dict()
    return row, tables.drop(columns="candidate_id")


def score_triples(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringOptions,
    checkpoint_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rewards and phase tables of every triple (input order kept).

    With ``checkpoint_dir``, finished candidates are saved there every ``options.checkpoint_every``
    candidates and skipped when the same call is repeated after a crash.
    """
    done_rows: list[dict] = []
    done_tables: list[pd.DataFrame] = []
    if checkpoint_dir is not None and (Path(checkpoint_dir) / "rewards.parquet").is_file():
        previous = read_parquet(Path(checkpoint_dir) / "rewards.parquet", REWARDS_SCHEMA)
        done_rows = previous.to_dict("records")
        tables_file = Path(checkpoint_dir) / "phase_tables.parquet"
        if tables_file.is_file():
            done_tables.append(read_parquet(tables_file, SCORED_TABLES_SCHEMA))
        log.info("resuming: %d candidates already scored in %s", len(done_rows), checkpoint_dir)
    done_ids = {row["candidate_id"] for row in done_rows}

    # Parse every triple first: invalid ones are answered at once, the rest grouped by element set.
    pending: dict[tuple, list[dict]] = {}
    compositions: dict[tuple, dict[str, float]] = {}
    new_rows: list[dict] = []
    for triple in triples.itertuples(index=False):
        if str(triple.candidate_id) in done_ids:
            continue
        row = _base_row(triple, options)
        try:
            master = master_from_text(triple.bcc, triple.b2, triple.b2_volume_percent)
        except FormulaError as exc:
            row["reason"] = str(exc)
            new_rows.append(row)
            if progress:
                progress(1)
            continue
        row["master_composition"] = canonical_formula(master)
        row["elements"] = "-".join(master)
        key = rounded(master)
        compositions.setdefault(key, master)
        pending.setdefault(key, []).append(row)

    new_tables: list[pd.DataFrame] = []
    since_checkpoint = 0

    def checkpoint() -> None:
        if checkpoint_dir is None:
            return
        rewards = pd.DataFrame(done_rows + new_rows, columns=REWARDS_SCHEMA.names)
        write_parquet(rewards, Path(checkpoint_dir) / "rewards.parquet", REWARDS_SCHEMA)
        tables = concat_tables(done_tables + new_tables)
        write_parquet(tables, Path(checkpoint_dir) / "phase_tables.parquet", SCORED_TABLES_SCHEMA)

    # Solve grouped by (database, element set) so each compiled system is loaded once.
    choices = {key: backend.choose_database(compositions[key]) for key in pending}
    for key in sorted(pending, key=lambda k: (choices[k][0] or "", tuple(el for el, _ in k))):
        rows = pending[key]
        master = compositions[key]
        first = rows[0]
        started = time.perf_counter()
        database, coverage = choices[key]
        table = None
        if database is None:
            first["status"], first["reason"] = "invalid", f"no configured database holds all of {sorted(master)}"
        else:
            first["database"], first["coverage"] = database, float(coverage)
            first["low_coverage"] = bool(coverage < options.min_coverage)
            try:
                with time_limit(options.timeout_s):
                    table = backend.phase_table(master, options.temperatures_K, database)
                breakdown = compute_reward(table, options.reward)
                first.update(breakdown.as_dict())
                first["status"], first["reason"] = "ok", ""
            except CalphadError as exc:
                first["status"], first["reason"] = "failed", exc.reason
                table = exc.partial_table
            except Exception as exc:  # a solver crash is a recorded failure, never a dead shard
                first["status"], first["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        first["seconds"] = time.perf_counter() - started
        for row in rows:
            if row is not first:
                for column in REWARDS_SCHEMA.names:
                    if column not in ("candidate_id", "bcc", "b2", "b2_volume_percent", "seconds"):
                        row[column] = first[column]
            new_rows.append(row)
            if table is not None and not table.empty:
                new_tables.append(table.assign(candidate_id=row["candidate_id"]))
        if first["status"] != "ok":
            log.warning("candidate %s (%s): %s", first["candidate_id"], first["master_composition"], first["reason"])
        if progress:
            progress(len(rows))
        since_checkpoint += len(rows)
        if since_checkpoint >= options.checkpoint_every:
            checkpoint()
            since_checkpoint = 0

    order = {cid: i for i, cid in enumerate(triples["candidate_id"].astype(str))}
    rewards = pd.DataFrame(done_rows + new_rows, columns=REWARDS_SCHEMA.names)
    rewards = rewards.sort_values("candidate_id", key=lambda s: s.map(order)).reset_index(drop=True)
    tables = concat_tables(done_tables + new_tables)
    return rewards, tables


def concat_tables(tables: list[pd.DataFrame], schema: pa.Schema = SCORED_TABLES_SCHEMA) -> pd.DataFrame:
    """Concatenate tables of one schema (columns in its order); the empty table when there are none."""
    tables = [t for t in tables if not t.empty]
    if not tables:
        return schema.empty_table().to_pandas()
    return pd.concat(tables, ignore_index=True)[schema.names]


def score_file(
    triples_path: Path,
    rewards_path: Path,
    tables_path: Path,
    backend: CalphadBackend,
    options: ScoringOptions,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Score a triples file into the rewards and phase-table Parquet files, resuming a crashed run.

    With ``show_progress``, ``k/N done, ETA`` lines go to the log (:class:`alloypref.progress.ProgressLog`).
    """
    from alloypref.progress import ProgressLog

    triples = read_triples(triples_path)
    checkpoint_dir = Path(str(rewards_path) + ".checkpoint")
    progress = (
        ProgressLog(len(triples), f"scoring {Path(triples_path).name}", log, unit="candidates")
        if show_progress
        else None
    )
    rewards, tables = score_triples(triples, backend, options, checkpoint_dir, progress=progress)
    write_parquet(tables, tables_path, SCORED_TABLES_SCHEMA)
    write_parquet(rewards, rewards_path, REWARDS_SCHEMA)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    counts = rewards["status"].value_counts().to_dict()
    log.info("scored %d candidates from %s: %s", len(rewards), triples_path, counts)
    return rewards
