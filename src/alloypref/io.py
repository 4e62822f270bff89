"""Atomic file writes: a crash never leaves a half-written artifact under its final name."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _atomic_replace(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)  # atomic on POSIX within one file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    _atomic_replace(Path(path), lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    _atomic_replace(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` that becomes ``path`` when the block ends without error.

    A trained model is several files; a kill while saving them must not leave a folder under the
    final name that looks like a model. Anything already at ``path`` is replaced; when ``path`` is a
    symbolic link (a model folder kept on another disk), the folder it points to is replaced and the
    link kept. Hours of training are never thrown away by the last step: when the finished folder
    cannot be put in place, the error names the folder its files were left in.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _replace_with(tmp, path)
    except OSError as exc:
        raise OSError(f"could not put {path} in place ({exc}); its finished files are in {tmp}") from exc


def _replace_with(new: Path, path: Path) -> None:
    """Put the folder ``new`` at ``path``: whatever was there (a folder, a file) is moved aside by a
    rename first, so a failure leaves it as it was, and removed only once ``new`` is in place."""
    if not os.path.lexists(path):
        os.replace(new, path)
        return
    holder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.replace(path, holder / path.name)
    try:
        os.replace(new, path)
    except OSError:
        os.replace(holder / path.name, path)
        holder.rmdir()
        raise
    shutil.rmtree(holder, ignore_errors=True)  # a link inside is removed, never followed


def write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    """Write a DataFrame as Parquet atomically, cast to ``schema`` when given (columns in its order)."""
    if schema is not None:
        missing = [name for name in schema.names if name not in frame.columns]
        if missing:
            raise ValueError(f"cannot write {path}: columns {missing} missing")
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    _atomic_replace(Path(path), lambda tmp: pq.write_table(table, tmp))


def read_parquet(path: Path, schema: pa.Schema | None = None) -> pd.DataFrame:
    """Read Parquet; with ``schema``, strictly: a missing column, a repeated one, a column of
    another kind than the schema's (``'False'`` strings or numbers where it says bool, bools where it
    says a number) or a missing value in a non-nullable column is a ``ValueError`` naming the file
    and the column. Integers are accepted where the schema says float; extra columns are kept."""
    table = read_parquet_table(path)
    if schema is not None:
        check_columns(table, schema, str(path))
    return table.to_pandas()


def read_parquet_table(path: Path) -> pa.Table:
    """A Parquet file as an Arrow table; a missing or unreadable file is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Parquet file")
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:  # not Parquet, truncated, or unreadable
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None


def check_columns(table: pa.Table, schema: pa.Schema, where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the column unless ``table`` holds every column of
    ``schema`` once, each of the schema's kind (:func:`read_parquet`)."""
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"{where}: missing columns {missing} (expected {schema.names})")
    repeated = sorted({name for name in table.column_names if table.column_names.count(name) > 1})
    if repeated:
        raise ValueError(f"{where}: column {repeated[0]} appears more than once")
    for field in schema:
        column = table.column(field.name)
        if not _readable_as(column.type, field.type, field.nullable):
            raise ValueError(f"{where}: column {field.name} holds {column.type} values, the schema says {field.type}")
        if not field.nullable and column.null_count:
            first = next(i for i, valid in enumerate(column.is_valid().to_pylist()) if not valid)
            raise ValueError(
                f"{where}: column {field.name} has {column.null_count} missing value(s) (first in row {first}, "
                f"0-based); it must be {field.type} in every row"
            )


def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return _kind(data_type.value_type)
    for kind, test in (
        ("bool", pa.types.is_boolean),
        ("integer", pa.types.is_integer),
        ("float", pa.types.is_floating),
        ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
        ("list", lambda t: pa.types.is_list(t) or pa.types.is_large_list(t)),
        ("null", pa.types.is_null),
    ):
        if test(data_type):
            return kind
    return str(data_type)


def _readable_as(actual: pa.DataType, expected: pa.DataType, nullable: bool = True) -> bool:
    """Whether a column of ``actual`` type means what the schema's ``expected`` type means."""
    have, want = _kind(actual), _kind(expected)
    if have == "null":  # every value missing (pandas writes an all-None column so)
        return nullable
    if have == "list" and want == "list":
        return _readable_as(actual.value_type, expected.value_type)
    return have == want or (have == "integer" and want == "float")


def split_contiguous(frame: pd.DataFrame, n_shards: int, sort_by: list[str]) -> list[pd.DataFrame]:
    """Sort by ``sort_by`` and cut into ``n_shards`` contiguous pieces whose sizes differ by at most 1.

    Sorting by element set keeps candidates that share a compiled CALPHAD system in one shard.
    """
    if n_shards < 1:
        raise ValueError(f"number of shards must be >= 1, got {n_shards}")
    ordered = frame.sort_values(sort_by, kind="stable")
    bounds = [(len(ordered) * i) // n_shards for i in range(n_shards + 1)]
    return [ordered.iloc[bounds[i] : bounds[i + 1]].reset_index(drop=True) for i in range(n_shards)]
