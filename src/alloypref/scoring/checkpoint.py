"""Checkpoints of a scoring call: saved beside the output, reused only under the same job key.

A checkpoint is one file (:data:`CHECKPOINT_FILE` in the checkpoint folder), a ZIP archive of the
manifest (format, job key, candidate ids), the rewards and the phase tables, replaced whole by a
rename: a kill or a full disk while saving leaves the previous checkpoint, never rewards newer than
their tables. A rerun after a crash resumes from the checkpoint only when it was made from the same
triples (their parse status included), settings, databases, trust evidence and code
(:func:`job_key`, stored with it) and its rewards and tables cover the same candidates; any other
checkpoint is discarded with the reason logged. A damaged checkpoint costs time, never a result; a
checkpoint that cannot be written (a full disk) loses the ability to resume, not the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from alloypref.calphad.backend import CalphadBackend
from alloypref.calphad.trust import TrustEvidence
from alloypref.io import atomic_write_bytes
from alloypref.scoring.schemas import (
    PARSED_TRIPLES_SCHEMA,
    REWARDS_SCHEMA,
    SCORED_TABLES_SCHEMA,
    concat_tables,
)
from alloypref.scoring.settings import ScoringSettings
from alloypref.scoring.triples import with_parse_status

log = logging.getLogger(__name__)

#: Bump when the checkpoint layout or the key's contents change: part of the checkpoint key.
CHECKPOINT_FORMAT = 6

#: The one file of a checkpoint folder; anything else there is from an older layout or a crash.
CHECKPOINT_FILE = "checkpoint.zip"


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from (damaged, of another layout, or inconsistent)."""


def job_key(
    triples: pd.DataFrame,
    backend: CalphadBackend,
    options: ScoringSettings,
    extra: Mapping | None = None,
    trust_evidence: TrustEvidence | None = None,
    database: str | None = None,
) -> str:
    """SHA-256 of everything a shard's result depends on: triples (every column of
    :data:`~alloypref.scoring.schemas.PARSED_TRIPLES_SCHEMA`, the parse status and reason included,
    as :func:`~alloypref.scoring.triples.with_parse_status` fills them), options, backend, the trust
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
    digest.update(with_parse_status(triples)[PARSED_TRIPLES_SCHEMA.names].to_csv(index=False).encode())
    return digest.hexdigest()


def _parquet_bytes(frame: pd.DataFrame, schema: pa.Schema) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False), buffer)
    return buffer.getvalue()


def _parquet_frame(archive: zipfile.ZipFile, name: str, schema: pa.Schema) -> pd.DataFrame:
    frame = pq.read_table(io.BytesIO(archive.read(name))).to_pandas()
    missing = [column for column in schema.names if column not in frame.columns]
    if missing:
        raise CheckpointError(f"{name} lacks columns {missing}")
    return frame


def read_checkpoint(checkpoint_dir: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The job key, rewards and phase tables of the checkpoint in ``checkpoint_dir`` (read only).

    Raises:
        CheckpointError: no checkpoint file (an older layout), a damaged one, or one whose rewards
            and tables disagree: a phase table of a candidate without a reward row, an ``ok``
            candidate without phase-table rows, a repeated candidate, or ids other than its manifest's.
    """
    path = Path(checkpoint_dir) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"no {CHECKPOINT_FILE} (an older checkpoint layout, or none was committed)")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
            rewards = _parquet_frame(archive, "rewards.parquet", REWARDS_SCHEMA)
            tables = _parquet_frame(archive, "phase_tables.parquet", SCORED_TABLES_SCHEMA)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, pa.ArrowException, EOFError) as exc:
        raise CheckpointError(f"unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"format {manifest.get('format') if isinstance(manifest, dict) else None!r}, not {CHECKPOINT_FORMAT}"
        )
    ids = rewards["candidate_id"].astype(str)
    if ids.duplicated().any():
        raise CheckpointError(f"candidate {ids[ids.duplicated()].iloc[0]!r} has two reward rows")
    if list(ids) != manifest.get("candidates"):
        raise CheckpointError("its rewards are not the candidates its manifest names")
    stray = sorted(set(tables["candidate_id"].astype(str)) - set(ids))
    if stray:
        raise CheckpointError(f"phase-table rows of candidates without a reward row, e.g. {stray[0]!r}")
    bare = sorted(set(ids[rewards["status"] == "ok"]) - set(tables["candidate_id"].astype(str)))
    if bare:
        raise CheckpointError(f"candidate {bare[0]!r} is ok with no phase-table rows ({len(bare)} such)")
    return str(manifest.get("key")), rewards, tables


def load_checkpoint(checkpoint_dir: Path, key: str) -> tuple[list[dict], list[pd.DataFrame]]:
    """Rows and phase tables of a checkpoint made under ``key``; any other checkpoint is deleted
    with the reason logged (a warning)."""
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.exists():
        return [], []
    try:
        stored, rewards, tables = read_checkpoint(checkpoint_dir)
    except CheckpointError as exc:  # a damaged checkpoint costs time, never a result
        log.warning("discarding checkpoint %s: %s", checkpoint_dir, exc)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return [], []
    if stored != key:
        log.warning("discarding checkpoint %s: it was made from other triples, settings or code", checkpoint_dir)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        return [], []
    log.info("resuming: %d candidates already scored in %s", len(rewards), checkpoint_dir)
    return rewards.to_dict("records"), [tables]


def save_checkpoint(checkpoint_dir: Path, key: str, rows: list[dict], tables: list[pd.DataFrame]) -> None:
    """Replace the checkpoint with the finished ``rows`` and phase ``tables`` under ``key``, as one
    file (all or nothing); a failed write is logged, not raised."""
    try:
        rewards = pd.DataFrame(rows, columns=REWARDS_SCHEMA.names)
        manifest = {"format": CHECKPOINT_FORMAT, "key": key, "candidates": rewards["candidate_id"].astype(str).tolist()}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # Parquet is compressed already
            archive.writestr("rewards.parquet", _parquet_bytes(rewards, REWARDS_SCHEMA))
            archive.writestr("phase_tables.parquet", _parquet_bytes(concat_tables(tables), SCORED_TABLES_SCHEMA))
            archive.writestr("manifest.json", json.dumps(manifest))
        atomic_write_bytes(Path(checkpoint_dir) / CHECKPOINT_FILE, buffer.getvalue())
    except OSError as exc:  # a full disk loses the ability to resume, not the run
        log.warning("could not write checkpoint %s (%s); continuing without it", checkpoint_dir, exc)
