"""Reading a triples table (Parquet or CSV), checked, with the sampler's parse status."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from alloypref.io import read_parquet
from alloypref.scoring.schemas import TRIPLES_SCHEMA


def read_triples(path: str | Path) -> pd.DataFrame:
    """Triples from Parquet or CSV, checked for the required columns (named in the error).

    The result has the columns of :data:`~alloypref.scoring.schemas.PARSED_TRIPLES_SCHEMA`: a
    samples table's ``status`` and ``reason`` (see :mod:`alloypref.completion.parsing`) become
    ``parse_status`` and ``parse_reason``; a table without them is taken as parsed (``ok``).
    """
    path = Path(path)
    frame = _read_csv(path) if path.suffix.lower() == ".csv" else read_parquet(path)
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
    return with_parse_status(frame)


def with_parse_status(triples: pd.DataFrame) -> pd.DataFrame:
    """``triples`` with text ``parse_status`` and ``parse_reason`` columns: a missing or empty status
    is ``ok`` (parsed), a missing reason "" (the one reading scoring and its checkpoint key share)."""
    frame = triples.copy()
    status = frame["parse_status"] if "parse_status" in frame.columns else pd.Series("ok", index=frame.index)
    reason = frame["parse_reason"] if "parse_reason" in frame.columns else pd.Series("", index=frame.index)
    frame["parse_status"] = status.fillna("ok").astype(str).replace("", "ok")
    frame["parse_reason"] = reason.fillna("").astype(str)
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    """A UTF-8 CSV table with the text columns as text; a malformed file names itself."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such triples file")
    try:
        with warnings.catch_warnings():
            # a row with more fields than the header: pandas would make the extras an index
            # (shifting every column) or drop them with a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path, dtype={"candidate_id": str, "bcc": str, "b2": str}, encoding="utf-8", index_col=False
            )
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
