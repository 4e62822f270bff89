"""Reading a triples table (Parquet or CSV), checked, with the sampler's parse status."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pandas as pd

from alloypref.io import check_columns, read_parquet_table
from alloypref.scoring.schemas import TRIPLES_SCHEMA


def read_triples(path: str | Path) -> pd.DataFrame:
    """Triples from Parquet or CSV, checked for the required columns (named in the error).

    The result has the columns of :data:`~alloypref.scoring.schemas.PARSED_TRIPLES_SCHEMA`: a
    samples table's ``status`` and ``reason`` (see :mod:`alloypref.completion.parsing`) become
    ``parse_status`` and ``parse_reason``; a table without them is taken as parsed (``ok``).
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        frame = _read_csv(path)
        _check_columns_present(path, frame.columns)
        _refuse_boolean_volumes(path, frame["b2_volume_percent"])
    else:
        table = read_parquet_table(path)
        _check_columns_present(path, table.column_names)
        check_columns(table, TRIPLES_SCHEMA, str(path))  # a bool volume column is not 1.0 and 0.0
        frame = table.to_pandas()
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


def _check_columns_present(path: Path, columns) -> None:
    missing = [c for c in TRIPLES_SCHEMA.names if c not in columns]
    if missing:
        raise ValueError(f"{path}: triples table lacks columns {missing} (needs {TRIPLES_SCHEMA.names})")


#: Cells of a CSV volume column that are booleans, not percents (case-insensitive).
_BOOLEAN_WORDS = frozenset({"true", "false"})


def _refuse_boolean_volumes(path: Path, volumes: pd.Series) -> None:
    """A CSV volume column read as text: a boolean there is a misplaced column, not a volume of 1 or 0."""
    words = volumes.dropna().astype(str).str.strip().str.lower()
    booleans = words[words.isin(_BOOLEAN_WORDS)]
    if not booleans.empty:
        first = booleans.index[0]
        raise ValueError(
            f"{path}: column b2_volume_percent holds the boolean {volumes[first]!r} (data row {int(first) + 1}); "
            "it holds B2 volume percents"
        )


def _read_csv(path: Path) -> pd.DataFrame:
    """A UTF-8 CSV table with the triple's columns as text (the volume is made a number by the
    caller); a malformed file or a repeated header column names the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such triples file")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        repeated = [name for index, name in enumerate(header) if name in header[:index]]
        if repeated:
            # pandas would rename the second one (``bcc.1``) and keep the first: a silent choice
            raise ValueError(f"{path}, line 1: column {repeated[0]!r} appears more than once in the header")
        with warnings.catch_warnings():
            # a row with more fields than the header: pandas would make the extras an index
            # (shifting every column) or drop them with a warning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, dtype=dict.fromkeys(TRIPLES_SCHEMA.names, str), encoding="utf-8", index_col=False)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
