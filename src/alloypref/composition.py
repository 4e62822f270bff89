"""Alloy formulas: parsing what models write, canonical strings and the master composition.

Every composition in AlloyPref is a mapping ``element symbol -> atomic (mole) fraction`` whose
values sum to 1. Parsing is delegated to :class:`pymatgen.core.Composition`; this module adds the
checks a generative pipeline needs (a named error for every kind of bad input) and the paper's
master composition x = (1 - f) * x_BCC + f * x_B2 with f = B2 volume % / 100. The paper treats the
B2 *volume* percentage as a *molar* fraction (equal molar volumes); so do we.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

Fractions = dict[str, float]

#: Decimal places of the canonical string; also the rounding used to deduplicate master compositions
#: (1e-4 atomic fraction = 0.01 at.%, far below what a CALPHAD grid resolves).
CANONICAL_DECIMALS = 4

#: Letters, digits, decimal points, parentheses and spaces; no tabs or line breaks (a formula is
#: one line of text, and a line break inside a CSV field must not pass as one).
_FORMULA_CHARS = re.compile(r"^[A-Za-z0-9.() ]+$")
#: An amount in a formula: a plain decimal number (no exponent: ``1e400`` overflows to infinity
#: and ``1e-400`` underflows to zero, which pymatgen then drops silently).
_AMOUNT = re.compile(r"[0-9]*\.?[0-9]+")
_EXPONENT = re.compile(r"[0-9.][eE][0-9]")
_SYMBOL = re.compile(r"[A-Z][a-z]?")
#: Largest amount a formula may give one element (relative units). Models and importers write
#: percentages or small integers; anything bigger is a typo or an attack on the arithmetic.
MAX_AMOUNT = 1e6
#: Smallest atomic fraction kept as an element of the composition (a fraction below it would vanish
#: in the canonical string and in the CALPHAD conditions).
MIN_FRACTION = 1e-9


class FormulaError(ValueError):
    """A formula or a triple that cannot be used; the message names the offending input."""


#: The longest formula read (characters; a five-element formula is ~20). Longer text is refused
#: unread, so no crafted formula costs the parser more than this much.
MAX_FORMULA_CHARS = 256


def parse_formula(formula: str, allowed_elements: Iterable[str] | None = None) -> Fractions:
    """Parse a formula such as ``Ti2Nb2Mo``, ``Nb67Mo33`` or ``Al0.5Ni0.5`` into atomic fractions.

    Amounts are relative; the result is normalised to sum to 1, sorted by element symbol.

    Raises:
        FormulaError: empty text, text longer than :data:`MAX_FORMULA_CHARS`, characters that are
            not part of a formula, an unknown element,
            a zero or negative amount, or an element outside ``allowed_elements`` (when given).
    """
    from pymatgen.core import Composition  # pymatgen import is slow; only pay it when parsing

    text = formula.strip() if isinstance(formula, str) else ""
    if not text:
        raise FormulaError(f"empty formula: {formula!r}")
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula {text[:24]!r}... is longer than {MAX_FORMULA_CHARS} characters")
    if not _FORMULA_CHARS.match(text) or re.search(r"(^|[^0-9])-", text):
        raise FormulaError(f"formula {formula!r} contains characters that are not element symbols or amounts")
    if re.search(r"(?<![0-9.])0+(\.0*)?(?![0-9.])", text):
        raise FormulaError(f"formula {formula!r} has a zero amount")
    if _EXPONENT.search(text):
        raise FormulaError(f"formula {formula!r} writes an amount in exponent notation; use plain decimals")
    for number in _AMOUNT.findall(text):
        if not 0.0 < float(number) <= MAX_AMOUNT:
            raise FormulaError(f"formula {formula!r} has amount {number}, outside (0, {MAX_AMOUNT:g}]")
    try:
        comp = Composition(text, strict=True)
    except Exception as exc:  # pymatgen raises ValueError or its own subclasses
        raise FormulaError(f"formula {formula!r} is not a valid formula: {exc}") from None
    amounts = comp.get_el_amt_dict()
    if not amounts:
        raise FormulaError(f"formula {formula!r} has no elements")
    for element, amount in amounts.items():
        if not math.isfinite(amount) or amount <= 0:
            raise FormulaError(f"formula {formula!r} has a non-positive or non-finite amount of {element}")
    dropped = sorted(set(_SYMBOL.findall(text)) - set(amounts))
    if dropped:  # pymatgen silently drops an element whose amount rounds to zero
        raise FormulaError(
            f"formula {formula!r}: {', '.join(dropped)} did not survive parsing (an amount too small to use, "
            "or not a plain element symbol)"
        )
    total = math.fsum(amounts.values())
    fractions = {el: amounts[el] / total for el in sorted(amounts)}
    if not math.isfinite(total) or any(not MIN_FRACTION <= x <= 1.0 for x in fractions.values()):
        raise FormulaError(f"formula {formula!r} cannot be normalised: its amounts span too wide a range")
    if allowed_elements is not None:
        check_elements(fractions, allowed_elements, what=f"formula {formula!r}")
    return fractions


def check_elements(fractions: Mapping[str, float], allowed_elements: Iterable[str], what: str) -> None:
    """Raise :class:`FormulaError` naming ``what`` if it holds an element outside ``allowed_elements``."""
    allowed = {e.capitalize() for e in allowed_elements}
    outside = sorted(set(fractions) - allowed)
    if outside:
        raise FormulaError(f"{what} contains {', '.join(outside)}, not in the allowed elements {sorted(allowed)}")


def canonical_formula(fractions: Mapping[str, float]) -> str:
    """Canonical text of a composition: elements sorted, atomic percent to 2 decimals, zeros dropped.

    ``{'Nb': 2/3, 'Mo': 1/3}`` -> ``'Mo33.33Nb66.67'``. Compositions equal to 1e-4 in every atomic
    fraction give the same string (see :data:`CANONICAL_DECIMALS`).
    """
    parts = []
    for element in sorted(fractions):
        percent = round(100.0 * fractions[element], CANONICAL_DECIMALS - 2)
        if percent > 0:
            parts.append(element + f"{percent:.{CANONICAL_DECIMALS - 2}f}".rstrip("0").rstrip("."))
    return "".join(parts)


def volume_fraction(b2_volume_percent: float) -> float:
    """B2 volume percent (0-100) as a fraction; raises :class:`FormulaError` outside [0, 100]."""
    try:
        value = float(b2_volume_percent)
    except (TypeError, ValueError):
        raise FormulaError(f"B2 volume % {b2_volume_percent!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise FormulaError(f"B2 volume % {b2_volume_percent!r} is outside 0-100")
    return value / 100.0


def master_composition(bcc: Mapping[str, float], b2: Mapping[str, float], b2_volume_percent: float) -> Fractions:
    """x = (1 - f) * x_BCC + f * x_B2 with f = B2 volume % / 100 (treated as a molar fraction)."""
    f = volume_fraction(b2_volume_percent)
    master: Fractions = {}
    for element in set(bcc) | set(b2):
        value = (1.0 - f) * bcc.get(element, 0.0) + f * b2.get(element, 0.0)
        if value > 0.0:
            master[element] = value
    return {el: master[el] for el in sorted(master)}


def master_from_text(
    bcc: str, b2: str, b2_volume_percent: float, allowed_elements: Iterable[str] | None = None
) -> Fractions:
    """Parse a (BCC, B2, B2 volume %) triple of texts into its master composition."""
    allowed = list(allowed_elements) if allowed_elements is not None else None
    return master_composition(parse_formula(bcc, allowed), parse_formula(b2, allowed), b2_volume_percent)


def rounded(fractions: Mapping[str, float], decimals: int = CANONICAL_DECIMALS) -> tuple[tuple[str, float], ...]:
    """Hashable key of a composition rounded to ``decimals`` places of fraction (deduplication)."""
    return tuple((el, round(fractions[el], decimals)) for el in sorted(fractions) if round(fractions[el], decimals) > 0)


def atomic_from_weight_percent(weight_percent: Mapping[str, float]) -> Fractions:
    """Weight percent (or any mass amounts) -> atomic fractions summing to 1, by standard atomic
    weights (:meth:`pymatgen.core.Composition.from_weight_dict`). Alloys are usually specified in
    wt%; the phase facts and the CALPHAD conditions are in atomic fractions. Raises
    :class:`FormulaError` naming the element for a non-positive amount or an unknown symbol."""
    from pymatgen.core import Composition

    for element, amount in weight_percent.items():
        if not (isinstance(amount, int | float) and math.isfinite(amount) and amount > 0):
            raise FormulaError(f"weight amount of {element!r} must be a positive number, got {amount!r}")
        if not _SYMBOL.fullmatch(element):
            raise FormulaError(f"{element!r} is not an element symbol")
    try:
        composition = Composition.from_weight_dict(dict(weight_percent))
    except (ValueError, KeyError) as exc:
        raise FormulaError(f"weight composition {dict(weight_percent)}: {exc}") from None
    return {str(e): float(composition.get_atomic_fraction(e)) for e in composition.elements}
