"""The completion grammar: how a (BCC, B2, B2 volume %) triple is written as text, and read back.

``<BCC>Nb2Mo</BCC><B2>NiAl</B2><B2 Volume>45.00</B2 Volume>`` — the paper's tags, each once, in this
order, the volume with two decimals. The SFT data is written with :func:`completion_text`, the
formula tokenizer adds :data:`TAGS` as tokens (a pretrained tokenizer reads them as text), and
:mod:`alloypref.completion.parsing` reads generations with :func:`split_completion`.

Formulas are written as the training data writes them (:func:`formula_text`): element symbols, each
once, with the smallest integer ratio of the rounded atomic percentages as counts and a count of 1
left out (``Ti2Nb2Mo``, ``MnAl2Fe``, ``TiV``), or the percentages themselves when they share no
factor (``Nb67Mo33``). A formula is *well-formed* when writing its parsed composition back with
:func:`formula_text` gives the same formula up to element order (:func:`notation_error`): ``Ti2Nb2Mo``
and ``Mo2Ti2Nb`` are, ``Mo3Mo``, ``VVVV``, ``V67V33``, ``Mo2VV3``, ``Ti4Nb4Mo2``, ``Nb1Mo1`` and
``Al0.5Ni0.5`` are not, though each names a composition.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction

TAGS = ("<BCC>", "</BCC>", "<B2>", "</B2>", "<B2 Volume>", "</B2 Volume>")
GRAMMAR = "<BCC>…</BCC><B2>…</B2><B2 Volume>…</B2 Volume>"

#: The longest completion read (characters); a generated triple is well under 100. Longer text is
#: unparseable unread, so no input, however crafted, costs more than reading this much.
MAX_COMPLETION_CHARS = 2_000

#: One term of a formula in the training data's notation: an element symbol and its integer count.
_TERM = re.compile(r"([A-Z][a-z]?)([0-9]*)")
_TERMS = re.compile(r"(?:[A-Z][a-z]?[0-9]*)+")


def completion_text(bcc: str, b2: str, b2_volume_percent: float) -> str:
    """The paper's tag format, volume (%) with two decimals."""
    return f"<BCC>{bcc}</BCC><B2>{b2}</B2><B2 Volume>{b2_volume_percent:.2f}</B2 Volume>"


def split_completion(text: str | None) -> tuple[str, str, str] | None:
    """(bcc, b2, volume text), stripped, when ``text`` holds each of :data:`TAGS` once, in order, with
    only whitespace outside them; else None. One pass per tag (no regular expression, so no
    backtracking): linear in the length of ``text``."""
    text = text or ""
    if any(text.count(tag) != 1 for tag in TAGS):
        return None
    positions = [text.index(tag) for tag in TAGS]
    if positions != sorted(positions):
        return None
    ends = [position + len(tag) for position, tag in zip(positions, TAGS)]
    outside = (text[: positions[0]], text[ends[1] : positions[2]], text[ends[3] : positions[4]], text[ends[5] :])
    if any(part.strip() for part in outside):
        return None
    return tuple(text[ends[i] : positions[i + 1]].strip() for i in (0, 2, 4))


def formula_text(fractions: Mapping[str, float | Fraction], order: Sequence[str] | None = None) -> str:
    """The paper's way of writing a composition: the smallest integer ratio of rounded percentages.

    ``{'Ti': .4, 'Nb': .4, 'Mo': .2}`` -> ``Ti2Nb2Mo``; ``{'Nb': 2/3, 'Mo': 1/3}`` -> ``Nb67Mo33``.
    ``fractions`` are atomic fractions summing to 1; ``order`` fixes the element order (default:
    decreasing fraction, then symbol).
    """
    elements = list(order) if order is not None else sorted(fractions, key=lambda e: (-float(fractions[e]), e))
    percents = [round(100 * float(fractions[e])) for e in elements]
    divisor = math.gcd(*percents) if len(percents) > 1 else percents[0]
    parts = []
    for element, percent in zip(elements, percents):
        count = percent // divisor
        parts.append(element if count == 1 else f"{element}{count}")
    return "".join(parts)


def notation_error(formula: str, fractions: Mapping[str, float]) -> str:
    """Why ``formula`` is not well-formed (module doc), "" when it is.

    ``fractions`` is the composition ``formula`` was parsed into (atomic fractions summing to 1,
    :func:`alloypref.composition.parse_formula`). The reason names the formula, what is wrong with
    it, and how the training data writes its composition; nothing is repaired.
    """
    expected = formula_text(fractions)
    if not _TERMS.fullmatch(formula):
        return (
            f"formula {formula!r} is not element symbols with integer counts "
            f"(the training data writes its composition {expected!r})"
        )
    symbols = [symbol for symbol, _ in _TERM.findall(formula)]
    repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if repeated:
        return (
            f"formula {formula!r} repeats {', '.join(repeated)} "
            f"(the training data writes each element once: {expected!r})"
        )
    if Counter(_TERM.findall(formula)) != Counter(_TERM.findall(expected)):
        return (
            f"formula {formula!r} does not write the smallest integer ratio of its rounded atomic "
            f"percentages, without counts of 1 (the training data writes it {expected!r})"
        )
    return ""
