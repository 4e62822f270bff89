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
* Each candidate is scored on the database most trustworthy for its element pairs (highest
  confidence, :mod:`alloypref.calphad.confidence`), or on a forced one (the cross-database check).
* Progress is checkpointed every ``checkpoint_every`` candidates beside the output; a rerun after a
  crash resumes from the checkpoint only when it was made from the same triples, settings, databases,
  phase-fact verdicts and code (a hash of them is stored with it); any other checkpoint is discarded.

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
confidence                float64   share of element pairs that database is trusted with: covered
                                    and its phase facts agree (0-1; see calphad.confidence)
low_confidence            bool      confidence below ``calphad.min_confidence`` (True when no
                                    database was used)
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
import math
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.calphad.backend import CalphadBackend, CalphadError
from alloypref.calphad.cache import CacheTrustError
from alloypref.calphad.confidence import DEFAULT_UNTESTED_WEIGHT, DatabaseChoice, PairTrust
from alloypref.calphad.databases import DatabaseError
from alloypref.calphad.tables import PHASE_TABLE_SCHEMA
from alloypref.calphad.worker import SolverWorker, solve_groups
from alloypref.composition import FormulaError, canonical_formula, master_from_text, rounded
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.reward import RewardConfig, compute_reward

if TYPE_CHECKING:  # config imports the calphad package; only the annotation needs it
    from alloypref.config import CalphadSettings

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
        ("confidence", pa.float64()),
        ("low_confidence", pa.bool_()),
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
    backend that cannot be forked). ``workers``: solver processes run at once (isolated only), each
    taking whole element sets; each holds its own compiled systems, so memory grows with it.
    """

    temperatures_K: tuple[float, ...]
    reward: RewardConfig = RewardConfig()
    min_coverage: float = 0.5
    timeout_s: float = 300.0
    checkpoint_every: int = 10
    isolate: bool = True
    min_confidence: float = 0.5
    untested_pair_weight: float = DEFAULT_UNTESTED_WEIGHT
    workers: int = 1

    @classmethod
    def from_settings(cls, settings: CalphadSettings, **overrides: object) -> ScoringOptions:
        """The scoring options a config's ``calphad`` block gives (every scorer: rule ``score``,
        GRPO, the cross-database check, API judges and the CLI build them here, so they cannot
        drift apart); ``overrides`` set the per-job fields (``workers``, ``checkpoint_every``)."""
        if settings.temperatures_K is None or settings.reward is None:
            raise ValueError("scoring needs the calphad block's scoring keys and a reward (this job was given neither)")
        return cls(
            temperatures_K=settings.temperatures_K,
            reward=settings.reward,
            min_coverage=settings.min_coverage,
            timeout_s=settings.timeout_s,
            min_confidence=settings.min_confidence,
            untested_pair_weight=settings.untested_pair_weight,
            **overrides,
        )


#: Bump when the checkpoint layout changes: part of the checkpoint key.
CHECKPOINT_FORMAT = 3


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


#: Estimated CPU seconds to build (or load) and sample a new element set's system, by element count,
#: and to score one further candidate of a set already built. ``benchmarks/score_scaling.py``
#: measured 14.5-16.3 s per new set (mostly 5-element sets) and 0.73-0.82 s per further candidate; other
#: element counts are scaled by ~1.9 per element (a larger system has more phases, sublattice species
#: and grid points). They only weigh shards against each other, so rough values balance as well.
SET_COST_S = {1: 2.0, 2: 3.0, 3: 4.5, 4: 8.0, 5: 14.5, 6: 28.0}
CANDIDATE_COST_S = 0.73


def estimated_cost_s(n_elements: int, n_candidates: int) -> float:
    """Estimated CPU seconds (see :data:`SET_COST_S`) to score ``n_candidates`` of one element set."""
    if n_elements <= 0:
        return 0.01 * n_candidates  # unparseable rows: answered without a solve
    largest = max(SET_COST_S)
    build = SET_COST_S.get(n_elements, SET_COST_S[largest] * 1.9 ** (n_elements - largest))
    return build + CANDIDATE_COST_S * n_candidates


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
    if n_bins < 1:
        raise ValueError(f"number of shards must be >= 1, got {n_bins}")
    loads = [0.0] * n_bins
    assigned: dict[str, int] = {}
    for name in sorted(costs, key=lambda k: (-costs[k], k)):
        target = min(range(n_bins), key=lambda i: (loads[i], i))
        assigned[name] = target
        loads[target] += costs[name]
    return assigned


def split_triples(triples: pd.DataFrame, n_shards: int) -> list[pd.DataFrame]:
    """Cut triples into ``n_shards`` shards, each element set whole in one shard.

    A new element set costs far more than a candidate of a set already built (:data:`SET_COST_S`),
    so whole element sets are dealt to shards balanced by estimated cost
    (:func:`balance_groups`): each system is built once in the whole run. Only a set whose
    candidates alone outweigh a fair share (total / ``n_shards``) is cut (by ``candidate_id``), into
    as many pieces as fair shares it spans, each paying the set's build again. Within a shard, rows
    are ordered by element set, then ``candidate_id``. Triples answered without a solve are
    spread one by one. A shard may be empty when there are fewer element sets than shards.
    """
    status = triples["parse_status"] if "parse_status" in triples.columns else pd.Series("ok", index=triples.index)
    keys = [
        element_set_key(row.bcc, row.b2, row.b2_volume_percent, parse)
        for row, parse in zip(triples.itertuples(index=False), status)
    ]
    frame = triples.assign(_key=keys)
    # an unsolved row is its own group, so they spread instead of filling one shard
    groups = [key if key else f"~{cid}" for key, cid in zip(keys, frame["candidate_id"].astype(str))]
    frame = frame.assign(_group=groups)

    def cost(group: str, count: int) -> float:
        return estimated_cost_s(0 if group.startswith("~") else len(group.split("#")[0].split("-")), count)

    sizes = frame["_group"].value_counts().to_dict()
    fair = sum(cost(g, n) for g, n in sizes.items()) / n_shards
    for group, count in sizes.items():
        # a set whose candidates alone outweigh a fair shard (a model that collapsed onto few element
        # sets) is cut into pieces that each fit one, each paying the set's build again
        build = cost(group, 0)
        capacity = math.floor((fair - build) / CANDIDATE_COST_S) if not group.startswith("~") else 0
        pieces = min(count, n_shards, math.ceil(cost(group, count) / fair)) if 1 <= capacity < count else 1
        if pieces > 1:
            rows = frame.index[frame["_group"] == group]
            order = frame.loc[rows, "candidate_id"].astype(str).sort_values(kind="stable").index
            for piece, chunk in enumerate(np.array_split(np.asarray(order), pieces)):
                frame.loc[chunk, "_group"] = f"{group}#{piece}"
    sizes = frame["_group"].value_counts().to_dict()
    costs = {group: cost(group, count) for group, count in sizes.items()}
    shard_of = balance_groups(costs, n_shards)
    frame = frame.assign(_shard=frame["_group"].map(shard_of))
    shards = []
    for index in range(n_shards):
        shard = frame[frame["_shard"] == index].sort_values(["_key", "candidate_id"], kind="stable")
        shards.append(shard.drop(columns=["_key", "_group", "_shard"]).reset_index(drop=True))
    return shards


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
        "confidence": 0.0,
        "low_confidence": True,
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
    bcc: str,
    b2: str,
    b2_volume_percent: float,
    backend: CalphadBackend,
    options: ScoringOptions,
    trust: PairTrust | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Score one triple: its reward row (see module doc) and its phase table."""
    rows, tables = score_triples(
        pd.DataFrame([{"candidate_id": "cli", "bcc": bcc, "b2": b2, "b2_volume_percent": b2_volume_percent}]),
        backend,
        options,
        trust=trust,
    )
    row = rows.iloc[0].to_dict()
    return row, tables.drop(columns="candidate_id")


def job_key(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringOptions,
    extra: Mapping | None = None,
    trust: PairTrust | None = None,
    database: str | None = None,
) -> str:
    """SHA-256 of everything a shard's result depends on: triples, options, backend, the phase-fact
    verdicts ``trust``, a forced ``database`` and ``extra`` (code).

    A checkpoint is reused only under the same key. ``checkpoint_every`` and ``isolate`` change how,
    not what, is computed, so they are left out; so is ``workers``.
    """
    fingerprint = getattr(backend, "fingerprint", None)
    how = ("checkpoint_every", "isolate", "workers")
    settings = {k: v for k, v in dataclasses.asdict(options).items() if k not in how}
    described = {
        "format": CHECKPOINT_FORMAT,
        "options": settings,
        "backend": fingerprint() if callable(fingerprint) else f"{type(backend).__module__}.{type(backend).__name__}",
        "extra": dict(extra or {}),
        "trust": (trust or PairTrust()).fingerprint(),
        "database": database,
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
    trust: PairTrust | None = None,
    database: str | None = None,
    solver: SolverWorker | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rewards and phase tables of every triple (input order kept).

    Each candidate is scored on the first of ``backend.database_choices`` under the phase-fact
    verdicts ``trust`` (none: every covered pair untested), or on ``database`` when given; a
    candidate that database cannot compute (an element it lacks) is an ``invalid`` row.

    ``solver``: a running :class:`SolverWorker` of ``backend`` to solve in, one candidate after another
    (a caller that scores many small batches keeps one warm between calls); by default
    ``options.workers`` workers are started for this call (``options.isolate``) and stopped at its end.

    With ``checkpoint_dir``, finished candidates are saved there every ``options.checkpoint_every``
    candidates with the :func:`job_key` of this call (``key_extra`` joins it: the code version, say),
    and skipped when a call with the same key is repeated after a crash.
    """
    done_rows: list[dict] = []
    done_tables: list[pd.DataFrame] = []
    key = ""
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        key = job_key(triples, backend, options, key_extra, trust, database)
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

    # Solve grouped by (database, element set): each group goes whole to one worker, which builds
    # or loads its compiled system once; the costliest groups start first.
    choices = {k: _choice(backend, compositions[k], options, trust, database) for k in pending}
    holder = f"database {database!r} does not" if database else "no configured database"
    for k in [k for k in pending if choices[k] is None]:  # nothing to solve: answered now
        for row in pending.pop(k):
            row["status"], row["reason"] = "invalid", f"{holder} hold all of {sorted(compositions[k])}"
            new_rows.append(row)
            if progress:
                progress(1)
    by_system: dict[tuple, list[tuple]] = {}
    for k in sorted(pending, key=lambda k: (choices[k].database, tuple(el for el, _ in k), k)):
        by_system.setdefault((choices[k].database, tuple(el for el, _ in k)), []).append(k)
    systems = sorted(by_system, key=lambda s: (-estimated_cost_s(len(s[1]), len(by_system[s])), s))
    groups = [by_system[s] for s in systems]
    requests = [[(compositions[k], options.temperatures_K, choices[k].database) for k in group] for group in groups]
    if solver is not None:
        answers = _solve_here(solver, requests)
    elif options.isolate:
        answers = solve_groups(backend, requests, options.workers, options.timeout_s)
    else:
        answers = _solve_here(backend, requests)
    for g, r, answer, seconds in answers:
        key_of_master = groups[g][r]
        rows = pending[key_of_master]
        first = rows[0]
        table = _record(first, choices[key_of_master], answer, seconds, options)
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
    if len(rewards) != len(order) or set(rewards["candidate_id"]) != set(order):
        # a checkpoint of other triples would show here; the key should have stopped it
        raise RuntimeError(f"scoring produced {len(rewards)} rows for {len(order)} triples; delete {checkpoint_dir}")
    rewards = rewards.sort_values("candidate_id", key=lambda s: s.map(order)).reset_index(drop=True)
    tables = concat_tables(done_tables + new_tables)
    return rewards, tables


def _choice(
    backend: CalphadBackend,
    master: dict[str, float],
    options: ScoringOptions,
    trust: PairTrust | None,
    database: str | None,
) -> DatabaseChoice | None:
    """The database a master composition is scored on (None: no configured database can compute it)."""
    choices = backend.database_choices(master, trust, options.untested_pair_weight)
    if database is not None:
        choices = [choice for choice in choices if choice.database == database]
    return choices[0] if choices else None


def _solve_here(backend: CalphadBackend, groups: list[list[tuple]]):
    """:func:`alloypref.calphad.worker.solve_groups`, one request after another in ``backend``: this
    process (no time limit) or a running :class:`SolverWorker` (its time limit)."""
    for g, group in enumerate(groups):
        for r, (composition, temperatures, database) in enumerate(group):
            started = time.perf_counter()
            try:
                answer = backend.phase_table(composition, temperatures, database)
            except CalphadError as exc:
                answer = exc
            except (CacheTrustError, DatabaseError):
                raise  # not about this candidate: stop the job with its message
            except Exception as exc:  # a solver crash is a recorded failure, never a dead shard
                answer = CalphadError(f"{type(exc).__name__}: {exc}")
            yield g, r, answer, time.perf_counter() - started


def _record(row: dict, choice: DatabaseChoice, answer, seconds: float, options: ScoringOptions):
    """Fill ``row`` (status, reason, database, reward and flags, seconds) from one solver answer.

    ``answer`` is a phase table or a :class:`CalphadError`. Returns the phase table (partial on
    failure, None when nothing was computed).
    """
    row["database"], row["coverage"] = choice.database, float(choice.coverage)
    row["low_coverage"] = bool(choice.coverage < options.min_coverage)
    row["confidence"] = float(choice.confidence)
    row["low_confidence"] = bool(choice.confidence < options.min_confidence)
    row["seconds"] = float(seconds)
    if isinstance(answer, CalphadError):
        row["status"], row["reason"] = "failed", answer.reason
        return answer.partial_table
    try:
        breakdown = compute_reward(answer, options.reward)
    except Exception as exc:  # a table the reward cannot read is this candidate's failure
        row["status"], row["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        return answer
    row.update(breakdown.as_dict())
    row["status"], row["reason"] = "ok", ""
    return answer


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
    trust: PairTrust | None = None,
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
    rewards, tables = score_triples(triples, backend, options, checkpoint_dir, progress, key_extra, trust)
    write_parquet(tables, tables_path, SCORED_TABLES_SCHEMA)
    write_parquet(rewards, rewards_path, REWARDS_SCHEMA)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    counts = rewards["status"].value_counts().to_dict()
    log.info("scored %d candidates from %s: %s", len(rewards), triples_path, counts)
    return rewards
