"""Import external generations (CDVAE or Crystal-LLM outputs, an API model's answers) as a source.

Two CSV layouts are accepted:

* triples: columns ``bcc``, ``b2``, ``b2_volume_percent`` (an optional ``candidate_id``);
* single compositions: a column ``composition`` (or ``formula``). Each becomes a triple whose master
  composition is the composition itself (``bcc = b2 = composition``, volume 0 %), so it is
  fingerprinted and scored exactly like a model's master composition.

A row is kept when it parses and every element is in the design space; the rest are dropped with
their reason (``import_report``). A malformed file (not UTF-8 text, missing columns, a row with the
wrong number of fields, a quoted field that spans lines) raises an error that names the file and
the line, never the file's contents (the path may point at any file).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from alloypref.composition import FormulaError, parse_formula, volume_fraction


class ImportError_(ValueError):
    """A malformed external file; the message names the file and line."""


def import_generations(path: str | Path, elements: Iterable[str], name: str) -> tuple[pd.DataFrame, dict]:
    """(triples kept, report with counts and reasons)."""
    path = Path(path)
    if not path.is_file():
        raise ImportError_(f"{path}: no such file")
    allowed = set(elements)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportError_(f"{path}, line 1: empty file") from None
    except csv.Error as exc:
        raise ImportError_(f"{path}, line 1: not a CSV header ({exc})") from None
    if reader.line_num != 1:
        raise ImportError_(f"{path}, line 1: the header has a quoted field that spans lines")
    repeated = [name for index, name in enumerate(header) if name in header[:index]]
    if repeated:  # a row's dict would keep only the last of them
        raise ImportError_(f"{path}, line 1: column {repeated[0][:40]!r} appears more than once in the header")
    if {"bcc", "b2", "b2_volume_percent"} <= set(header):
        layout = "triples"
    elif "composition" in header or "formula" in header:
        layout = "compositions"
    else:
        raise ImportError_(
            f"{path}, line 1: the header has neither the columns bcc, b2, b2_volume_percent nor a column "
            f"composition or formula ({len(header)} columns)"
        )
    rows, reasons = [], Counter()
    while True:
        start = reader.line_num + 1  # the physical line the next record starts on
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportError_(f"{path}, line {start}: malformed CSV ({exc})") from None
        line_number = start
        if reader.line_num != start:  # a line break inside quotes is never part of a formula
            raise ImportError_(f"{path}, line {start}: a quoted field spans lines {start}-{reader.line_num}")
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise ImportError_(f"{path}, line {line_number}: {len(fields)} fields, the header has {len(header)}")
        record = dict(zip(header, (f.strip() for f in fields)))
        if layout == "triples":
            bcc, b2, volume = record["bcc"], record["b2"], record["b2_volume_percent"]
        else:
            bcc = b2 = record.get("composition") or record.get("formula", "")
            volume = "0"
        try:
            volume_value = volume_fraction(float(volume)) * 100
            parse_formula(bcc, allowed)
            parse_formula(b2, allowed)
        except FormulaError as exc:
            reasons["outside the design space" if "not in the allowed" in str(exc) else "unparseable"] += 1
            continue
        except ValueError:
            reasons["unparseable"] += 1
            continue
        candidate = record.get("candidate_id") or f"{name}-{line_number:06d}"
        rows.append({"candidate_id": candidate, "bcc": bcc, "b2": b2, "b2_volume_percent": volume_value})
    kept = pd.DataFrame(rows, columns=["candidate_id", "bcc", "b2", "b2_volume_percent"])
    total = len(kept) + sum(reasons.values())
    report = {
        "source": name,
        "file": str(path),
        "layout": layout,
        "rows": total,
        "kept": len(kept),
        "dropped": dict(reasons),
    }
    return kept, report


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); an error names the file and line of a bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportError_(
            f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None
