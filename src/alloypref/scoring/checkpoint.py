"""Checkpoints of a scoring call: saved beside the output, reused only under the same job key.

A rerun after a crash resumes from the checkpoint only when it was made from the same triples,
settings, databases, trust evidence and code (:func:`job_key`, stored with it); any other
checkpoint is discarded. A damaged checkpoint costs time, never a result; a checkpoint that cannot
be written (a full disk) loses the ability to resume, not the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alloypref.calphad.backend import CalphadBackend
from alloypref.calphad.trust import TrustEvidence
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.scoring.schemas import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA, TRIPLES_SCHEMA, concat_tables
from alloypref.scoring.settings import ScoringSettings

log = logging.getLogger(__name__)

#: Bump when the checkpoint layout changes: part of the checkpoint key.
CHECKPOINT_FORMAT = 4


def job_key(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringSettings,
    extra: Mapping | None = None,
    trust_evidence: TrustEvidence | None = None,
    database: str | None = None,
) -> str:
    """SHA-256 of everything a shard's result depends on: triples, options, backend, the trust
    evidence (its :meth:`~alloypref.calphad.trust.TrustEvidence.fingerprint`: tables and thresholds),
    a forced ``database`` and ``extra`` (code).

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
        "trust": trust_evidence.fingerprint() if trust_evidence is not None else None,
        "database": database,
    }
    digest = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode())
    digest.update(triples[TRIPLES_SCHEMA.names].to_csv(index=False).encode())
    return digest.hexdigest()


def load_checkpoint(checkpoint_dir: Path, key: str) -> tuple[list[dict], list[pd.DataFrame]]:
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


def save_checkpoint(checkpoint_dir: Path, key: str, rows: list[dict], tables: list[pd.DataFrame]) -> None:
    """Write the finished ``rows`` and phase ``tables`` under ``key``; a failed write is logged, not raised."""
    try:
        atomic_write_text(checkpoint_dir / "key.json", json.dumps({"key": key}))
        rewards = pd.DataFrame(rows, columns=REWARDS_SCHEMA.names)
        write_parquet(rewards, checkpoint_dir / "rewards.parquet", REWARDS_SCHEMA)
        write_parquet(concat_tables(tables), checkpoint_dir / "phase_tables.parquet", SCORED_TABLES_SCHEMA)
    except OSError as exc:  # a full disk loses the ability to resume, not the run
        log.warning("could not write checkpoint %s (%s); continuing without it", checkpoint_dir, exc)
