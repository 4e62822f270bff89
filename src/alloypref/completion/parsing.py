"""Parsing of generated text into a (BCC, B2, B2 volume %) triple and a status: the samples table.

Every raw text is kept; parsing records a status per row instead of dropping rows:

* ``ok`` — three tags, two well-formed formulas of design-space elements, a volume within 0-100;
* ``unparseable`` — the tags are missing, repeated or out of order, or the volume is not a number;
* ``invalid_formula`` — a tag holds text that is not a formula;
* ``unknown_element`` — a formula names an element outside the design space (or no element at all);
* ``malformed`` — a formula names a composition but is not written in the training data's notation
  (:func:`alloypref.completion.grammar.notation_error`: ``Mo3Mo``, ``VVVV``, ``Ti4Nb4Mo2``); the
  reason names the formula and how the training data writes it. It is never repaired, so the parse
  rate counts well-formed answers only;
* ``volume_out_of_range`` — the volume is not within 0-100 %.

Samples table:

====================  =======  =========================================================
column                dtype    meaning
====================  =======  =========================================================
candidate_id          string   ``{model}-{stage}-{index}``
model, stage          string   the ``{model}`` wildcard; ``sft`` or ``dpo`` (or a baseline)
prompt                string   the prompt the text was generated from
text                  string   the raw generation (special tokens removed, tags kept)
bcc, b2               string   parsed formulas ("" unless parsed)
b2_volume_percent     float64  parsed volume (%); NaN unless parsed
status, reason        string   parse status (above) and why
====================  =======  =========================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from alloypref.completion.grammar import (
    GRAMMAR,
    MAX_COMPLETION_CHARS,
    notation_error,
    split_completion,
)

SAMPLES_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("model", pa.string()),
        ("stage", pa.string()),
        ("prompt", pa.string()),
        ("text", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)

# one way to split each amount (digits, optionally a dot and digits, or a dot and digits), so a
# failed match never backtracks through the ways of splitting a run of digits
_FORMULA_SHAPE = re.compile(r"^(?:[A-Z][a-z]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)?)+$")
_VOLUME = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def parse_generation(text: str, allowed_elements: Iterable[str] | None = None) -> dict:
    """(bcc, b2, b2_volume_percent, status, reason) of one generated text."""
    from alloypref.composition import MAX_FORMULA_CHARS, FormulaError, parse_formula

    result = {"bcc": "", "b2": "", "b2_volume_percent": math.nan, "status": "ok", "reason": ""}
    if len(text or "") > MAX_COMPLETION_CHARS:
        result.update(status="unparseable", reason=f"longer than {MAX_COMPLETION_CHARS:,} characters")
        return result
    parts = split_completion(text)
    if parts is None:
        result.update(status="unparseable", reason=f"expected {GRAMMAR} once each")
        return result
    bcc, b2, volume_text = parts
    # A plain decimal only: float() would also take "1e400" (inf), "nan" and "1_0".
    if not _VOLUME.match(volume_text):
        result.update(status="unparseable", reason=f"B2 volume {volume_text!r} is not a plain decimal number")
        return result
    volume = float(volume_text)
    result.update(bcc=bcc, b2=b2, b2_volume_percent=volume)
    allowed = set(allowed_elements) if allowed_elements is not None else None
    for formula in (bcc, b2):
        if len(formula) > MAX_FORMULA_CHARS:
            result.update(status="invalid_formula", reason=f"formula longer than {MAX_FORMULA_CHARS} characters")
            return result
        try:
            fractions = parse_formula(formula)
        except FormulaError as exc:
            # formula-shaped text that pymatgen rejects names an unknown element symbol
            status = "unknown_element" if _FORMULA_SHAPE.match(formula) else "invalid_formula"
            result.update(status=status, reason=str(exc))
            return result
        if allowed is not None:
            try:
                parse_formula(formula, allowed)
            except FormulaError as exc:
                result.update(status="unknown_element", reason=str(exc))
                return result
        malformed = notation_error(formula, fractions)
        if malformed:
            result.update(status="malformed", reason=malformed)
            return result
    if not 0.0 <= volume <= 100.0:
        result.update(status="volume_out_of_range", reason=f"B2 volume {volume} % is outside 0-100")
    return result


def parse_samples(
    texts: list[str], model: str, stage: str, prompt: str, allowed_elements: Iterable[str]
) -> pd.DataFrame:
    """The samples table (see module doc) for a list of generated texts."""
    allowed = list(allowed_elements)
    rows = []
    for index, text in enumerate(texts):
        parsed = parse_generation(text, allowed)
        rows.append(
            {
                "candidate_id": f"{model}-{stage}-{index:05d}",
                "model": model,
                "stage": stage,
                "prompt": prompt,
                "text": text,
                **parsed,
            }
        )
    return pd.DataFrame(rows, columns=SAMPLES_SCHEMA.names)
