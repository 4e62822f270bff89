"""Scoring at scale: a table of triples in, rewards and phase tables out.

* Candidates whose master compositions agree to 1e-4 in every atomic fraction are computed once.
* Candidates are solved grouped by (database, element set), so each compiled system is built or
  loaded once per shard.
* Nothing kills a shard: a bad formula is an ``invalid`` row, a solver error or a timeout is a
  ``failed`` row with its reason, both with the worst reward. Candidates are solved in a worker
  process (:mod:`alloypref.calphad.worker`) that is killed when one runs past ``timeout_s``.
* A triple whose text the sampler could not parse cleanly (``parse_status`` other than ``ok``, e.g.
  ``unknown_element``: an element outside the design space) is an ``invalid`` row whose reason
  starts with that status; it is never scored as if it were a well-formed alloy.
* Progress is checkpointed every ``checkpoint_every`` candidates beside the output; a rerun after a
  crash resumes from the checkpoint only when it was made from the same triples, settings, databases
  and code (a hash of them is stored with it); any other checkpoint is discarded.

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
min_lattice_mismatch_A    float64   Å (``reward.mismatch: absolute``) or dimensionless (``relative``);
                                    the cap where BCC and B2 never coexist
highest_bcc_K             float64   highest temperature with BCC present (K); NaN if none
highest_b2_K              float64   highest temperature with B2 present (K); NaN if none
all_rules                 bool      the four rules hold
seconds                   float64   wall time spent on this candidate (0 for a duplicate)
========================  ========  ===========================================================

Phase tables: ``candidate_id`` followed by the columns of :mod:`alloypref.calphad.tables`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from alloypref.calphad.backend import CalphadBackend, CalphadError
from alloypref.calphad.cache import CacheTrustError
from alloypref.calphad.databases import DatabaseError
from alloypref.calphad.tables import PHASE_TABLE_SCHEMA
from alloypref.calphad.worker import SolverWorker
from alloypref.composition import FormulaError, canonical_formula, master_from_text, rounded
from alloypref.io import atomic_write_text, read_parquet, split_contiguous, write_parquet
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

#: Triples as the scorer reads them: the input columns plus the sampler's parse status and reason
#: (``ok`` and "" for sources without a parser, such as CSV files and baselines).
PARSED_TRIPLES_SCHEMA = pa.schema([*TRIPLES_SCHEMA, ("parse_status", pa.string()), ("parse_reason", pa.string())])

SCORED_TABLES_SCHEMA = pa.schema([("candidate_id", pa.string()), *PHASE_TABLE_SCHEMA])


@dataclass(frozen=True)
class ScoringOptions:
    """How a shard is scored (temperatures in K, times in s).

    ``isolate``: solve in a worker process that is killed after ``timeout_s`` (the default). Without
    it candidates are solved in this process and ``timeout_s`` is not enforced (debugging, or a
    backend that cannot be forked).
    """

    temperatures_K: tuple[float, ...]
    reward: RewardConfig = RewardConfig()
    min_coverage: float = 0.5
    timeout_s: float = 300.0
    checkpoint_every: int = 10
    isolate: bool = True


#: Bump when the checkpoint layout changes: part of the checkpoint key.
CHECKPOINT_FORMAT = 2


def read_triples(path: str | Path) -> pd.DataFrame:
    """Triples from Parquet or CSV, checked for the required columns (named in the error).

    The result has the columns of :data:`PARSED_TRIPLES_SCHEMA`: a samples table's ``status`` and
    ``reason`` (see :mod:`alloypref.lm.sampling`) become ``parse_status`` and ``parse_reason``;
    a table without them is taken as parsed (``ok``).
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such triples file")
        try:
            with warnings.catch_warnings():
                # a row with more fields than the header: pandas would make the extras an index
                # (shifting every column) or drop them with a warning
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    path, dtype={"candidate_id": str, "bcc": str, "b2": str}, encoding="utf-8", index_col=False
                )
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
            raise ValueError(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
    else:
        frame = read_parquet(path)
    missing = [c for c in TRIPLES_SCHEMA.names if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: triples table lacks columns {missing} (needs {TRIPLES_SCHEMA.names})")
    if frame["candidate_id"].duplicated().any():
        duplicated = frame.loc[frame["candidate_id"].duplicated(), "candidate_id"].tolist()[:5]
        raise ValueError(f"{path}: candidate_id values repeat, e.g. {duplicated}")
    if frame["candidate_id"].isna().any():
        rows = frame.index[frame["candidate_id"].isna()].tolist()[:5]
        raise ValueError(f"{path}: candidate_id is missing in rows {rows} (0-based)")
    frame = frame.copy()
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    frame["b2_volume_percent"] = pd.to_numeric(frame["b2_volume_percent"], errors="coerce")
    if "parse_status" not in frame.columns:
        frame["parse_status"] = frame["status"] if "status" in frame.columns else "ok"
        frame["parse_reason"] = frame["reason"] if "reason" in frame.columns else ""
    frame["parse_status"] = frame["parse_status"].fillna("ok").astype(str)
    frame["parse_reason"] = frame.get("parse_reason", pd.Series("", index=frame.index)).fillna("").astype(str)
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


def job_key(
    triples: pd.DataFrame, backend: CalphadBackend, options: ScoringOptions, extra: Mapping | None = None
) -> str:
    """SHA-256 of everything a shard's result depends on: triples, options, backend, ``extra`` (code).

    A checkpoint is reused only under the same key. ``checkpoint_every`` and ``isolate`` change how,
    not what, is computed, so they are left out.
    """
    fingerprint = getattr(backend, "fingerprint", None)
    settings = {k: v for k, v in dataclasses.asdict(options).items() if k not in ("checkpoint_every", "isolate")}
    described = {
        "format": CHECKPOINT_FORMAT,
        "options": settings,
        "backend": fingerprint() if callable(fingerprint) else f"{type(backend).__module__}.{type(backend).__name__}",
        "extra": dict(extra or {}),
    }
    digest = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode())
    digest.update(triples[TRIPLES_SCHEMA.names].to_csv(index=False).encode())
    return digest.hexdigest()


def _load_checkpoint(checkpoint_dir: Path, key: str) -> tuple[list[dict], list[pd.DataFrame]]:
    """Rows and phase tables of a checkpoint made under ``key``; any other checkpoint is deleted."""
    key_file = checkpoint_dir / "key.json"
    rewards_file = checkpoint_dir / "rewards.parquet"
    if not checkpoint_dir.exists():
        return [], []
    stored = None
    with contextlib.suppress(OSError, ValueError):
        stored = json.loads(key_file.read_text()).get("key")
    if stored != key or not rewards_file.is_file():
        if stored != key:
            log.warning("discarding checkpoint %s: it was made from other triples, settings or code", checkpoint_dir)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return [], []
    try:
        rows = read_parquet(rewards_file, REWARDS_SCHEMA).to_dict("records")
        tables_file = checkpoint_dir / "phase_tables.parquet"
        tables = [read_parquet(tables_file, SCORED_TABLES_SCHEMA)] if tables_file.is_file() else []
    except Exception as exc:  # a damaged checkpoint costs time, never a result
        log.warning("discarding unreadable checkpoint %s: %s", checkpoint_dir, exc)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return [], []
    log.info("resuming: %d candidates already scored in %s", len(rows), checkpoint_dir)
    return rows, tables


def score_triples(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringOptions,
    checkpoint_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    key_extra: Mapping | None = None,
    solver: SolverWorker | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rewards and phase tables of every triple (input order kept).

    ``solver``: a running :class:`SolverWorker` of ``backend`` to solve in (a caller that scores
    many small batches keeps one warm between calls); by default one is started for this call
    (``options.isolate``) and stopped at its end.

    With ``checkpoint_dir``, finished candidates are saved there every ``options.checkpoint_every``
    candidates with the :func:`job_key` of this call (``key_extra`` joins it: the code version, say),
    and skipped when a call with the same key is repeated after a crash.
    """
    done_rows: list[dict] = []
    done_tables: list[pd.DataFrame] = []
    key = ""
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        key = job_key(triples, backend, options, key_extra)
        done_rows, done_tables = _load_checkpoint(checkpoint_dir, key)
    done_ids = {row["candidate_id"] for row in done_rows}

    # Parse every triple first: invalid ones are answered at once, the rest grouped by element set.
    pending: dict[tuple, list[dict]] = {}
    compositions: dict[tuple, dict[str, float]] = {}
    new_rows: list[dict] = []
    for triple in triples.itertuples(index=False):
        if str(triple.candidate_id) in done_ids:
            continue
        row = _base_row(triple, options)
        parse_status = str(getattr(triple, "parse_status", "ok") or "ok")
        if parse_status != "ok":
            reason = str(getattr(triple, "parse_reason", "") or "")
            row["reason"] = f"{parse_status}: {reason}" if reason else parse_status
            new_rows.append(row)
            if progress:
                progress(1)
            continue
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
        key_of_master = rounded(master)
        compositions.setdefault(key_of_master, master)
        pending.setdefault(key_of_master, []).append(row)

    new_tables: list[pd.DataFrame] = []
    since_checkpoint = 0

    def checkpoint() -> None:
        if checkpoint_dir is None:
            return
        try:
            atomic_write_text(checkpoint_dir / "key.json", json.dumps({"key": key}))
            rewards = pd.DataFrame(done_rows + new_rows, columns=REWARDS_SCHEMA.names)
            write_parquet(rewards, checkpoint_dir / "rewards.parquet", REWARDS_SCHEMA)
            tables = concat_tables(done_tables + new_tables)
            write_parquet(tables, checkpoint_dir / "phase_tables.parquet", SCORED_TABLES_SCHEMA)
        except OSError as exc:  # a full disk loses the ability to resume, not the run
            log.warning("could not write checkpoint %s (%s); continuing without it", checkpoint_dir, exc)

    # Solve grouped by (database, element set) so each compiled system is loaded once.
    choices = {k: backend.choose_database(compositions[k]) for k in pending}
    owned = solver is None and options.isolate
    if solver is None:
        solver = SolverWorker(backend, options.timeout_s) if options.isolate else backend
    with solver if owned else contextlib.nullcontext():
        for group in sorted(pending, key=lambda k: (choices[k][0] or "", tuple(el for el, _ in k))):
            rows = pending[group]
            first = rows[0]
            table = _solve(first, compositions[group], choices[group], solver, options)
            for row in rows:
                if row is not first:
                    for column in REWARDS_SCHEMA.names:
                        if column not in ("candidate_id", "bcc", "b2", "b2_volume_percent", "seconds"):
                            row[column] = first[column]
                new_rows.append(row)
                if table is not None and not table.empty:
                    new_tables.append(table.assign(candidate_id=row["candidate_id"]))
            if first["status"] != "ok":
                log.warning(
                    "candidate %s (%s): %s", first["candidate_id"], first["master_composition"], first["reason"]
                )
            if progress:
                progress(len(rows))
            since_checkpoint += len(rows)
            if since_checkpoint >= options.checkpoint_every:
                checkpoint()
                since_checkpoint = 0

    order = {cid: i for i, cid in enumerate(triples["candidate_id"].astype(str))}
    rewards = pd.DataFrame(done_rows + new_rows, columns=REWARDS_SCHEMA.names)
    if len(rewards) != len(order) or set(rewards["candidate_id"]) != set(order):
        # a checkpoint of other triples would show here; the key should have stopped it
        raise RuntimeError(f"scoring produced {len(rewards)} rows for {len(order)} triples; delete {checkpoint_dir}")
    rewards = rewards.sort_values("candidate_id", key=lambda s: s.map(order)).reset_index(drop=True)
    tables = concat_tables(done_tables + new_tables)
    return rewards, tables


def _solve(row: dict, master: dict[str, float], choice: tuple[str | None, float], solver, options: ScoringOptions):
    """Fill ``row`` (status, reason, database, reward and flags, seconds) for one master composition.

    Returns its phase table (partial on failure, None when nothing was computed).
    """
    started = time.perf_counter()
    database, coverage = choice
    table = None
    if database is None:
        row["status"], row["reason"] = "invalid", f"no configured database holds all of {sorted(master)}"
    else:
        row["database"], row["coverage"] = database, float(coverage)
        row["low_coverage"] = bool(coverage < options.min_coverage)
        try:
            table = solver.phase_table(master, options.temperatures_K, database)
            breakdown = compute_reward(table, options.reward)
            row.update(breakdown.as_dict())
            row["status"], row["reason"] = "ok", ""
        except CalphadError as exc:
            row["status"], row["reason"] = "failed", exc.reason
            table = exc.partial_table
        except (CacheTrustError, DatabaseError):
            raise  # not about this candidate: stop the job with its message
        except Exception as exc:  # a solver crash is a recorded failure, never a dead shard
            row["status"], row["reason"] = "failed", f"{type(exc).__name__}: {exc}"
    row["seconds"] = time.perf_counter() - started
    return table


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
    key_extra: Mapping | None = None,
) -> pd.DataFrame:
    """Score a triples file into the rewards and phase-table Parquet files, resuming a crashed run.

    The checkpoint (``<rewards>.checkpoint/``) is keyed by :func:`job_key` with ``key_extra`` (the
    rule's params); one made from anything else is discarded. With ``show_progress``, ``k/N done,
    ETA`` lines go to the log (:class:`alloypref.progress.ProgressLog`).
    """
    from alloypref.progress import ProgressLog

    triples = read_triples(triples_path)
    checkpoint_dir = Path(str(rewards_path) + ".checkpoint")
    progress = (
        ProgressLog(len(triples), f"scoring {Path(triples_path).name}", log, unit="candidates")
        if show_progress
        else None
    )
    rewards, tables = score_triples(triples, backend, options, checkpoint_dir, progress, key_extra)
    write_parquet(tables, tables_path, SCORED_TABLES_SCHEMA)
    write_parquet(rewards, rewards_path, REWARDS_SCHEMA)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    counts = rewards["status"].value_counts().to_dict()
    log.info("scored %d candidates from %s: %s", len(rewards), triples_path, counts)
    return rewards
