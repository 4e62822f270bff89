"""Crafted model outputs and formulas cannot stall the parsers: reading is linear in the input, and
the parsers refuse text over their stated length bounds unread. The scaling tests compare the time of
an input with that of one twice as long (best of several runs, so a busy machine does not decide)."""

from __future__ import annotations

import time

import pytest

from alloypref.completion.grammar import MAX_COMPLETION_CHARS, split_completion
from alloypref.completion.parsing import parse_generation
from alloypref.composition import MAX_FORMULA_CHARS, FormulaError, parse_formula

# Inputs that made the earlier regular-expression grammar backtrack (time grew ~4x per doubling)
ADVERSARIAL_COMPLETIONS = {
    "open tags": lambda n: "<BCC>" * n + "</BCC><B2>" * n,
    "repeated tag pairs": lambda n: "<BCC></BCC><B2>" * n + "<B2 Volume>",
    "long fields": lambda n: "<BCC>" + "Ni1" * n + "</BCC><B2>NiAl</B2><B2 Volume>3" + "0" * n,
}


def _best_time(function, argument, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function(argument)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_COMPLETIONS))
def test_splitting_a_completion_is_linear_in_its_length(name):
    make = ADVERSARIAL_COMPLETIONS[name]
    short, long = make(20_000), make(40_000)
    assert split_completion(short) is None or name == "long fields"
    ratio = _best_time(split_completion, long) / max(_best_time(split_completion, short), 1e-6)
    assert ratio < 3.0, f"{name}: doubling the input multiplied the time by {ratio:.1f}"


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_COMPLETIONS))
def test_a_completion_over_the_bound_is_unparseable_unread(name):
    text = ADVERSARIAL_COMPLETIONS[name](10_000)
    assert len(text) > MAX_COMPLETION_CHARS
    parsed = parse_generation(text)
    assert (parsed["status"], parsed["reason"]) == ("unparseable", f"longer than {MAX_COMPLETION_CHARS:,} characters")


def test_a_formula_over_the_bound_is_refused_with_a_short_message():
    for text in ("(" * 5_000 + "Ni" + ")" * 5_000, "Ni" + "1" * 5_000 + "!", "Ni1" * 5_000):
        with pytest.raises(FormulaError, match=f"longer than {MAX_FORMULA_CHARS} characters") as caught:
            parse_formula(text)
        assert len(str(caught.value)) < 120  # never echoes the whole input
    parsed = parse_generation("<BCC>" + "Ni1" * 100 + "</BCC><B2>NiAl</B2><B2 Volume>30</B2 Volume>")
    assert (parsed["status"], parsed["reason"]) == (
        "invalid_formula",
        f"formula longer than {MAX_FORMULA_CHARS} characters",
    )


def test_a_well_formed_completion_still_parses():
    parsed = parse_generation("  <BCC>Ti2Nb2Mo</BCC> <B2>NiAl</B2>\n<B2 Volume>45.00</B2 Volume> ")
    assert (parsed["bcc"], parsed["b2"], parsed["b2_volume_percent"], parsed["status"]) == (
        "Ti2Nb2Mo",
        "NiAl",
        45.0,
        "ok",
    )
    for text in (
        "x<BCC>Nb</BCC><B2>NiAl</B2><B2 Volume>45</B2 Volume>",  # text outside the tags
        "<B2>NiAl</B2><BCC>Nb</BCC><B2 Volume>45</B2 Volume>",  # out of order
        "<BCC>Nb</BCC></BCC><B2>NiAl</B2><B2 Volume>45</B2 Volume>",  # a closing tag twice
    ):
        assert parse_generation(text)["status"] == "unparseable", text
