"""Fuzzing the formula and completion parsers with hypothesis (>= 10,000 strings each).

Each hypothesis example is a batch of strings (hypothesis's cost is per example, the parsers' per
string), so 500 examples of 20 strings give 10,000 strings in seconds.

No exception other than :class:`FormulaError` escapes ``parse_formula``; nothing escapes
``parse_generation``; every ``ok`` answer is a composition over known elements summing to 100 %, its formulas well-formed.
"""

import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core.periodic_table import Element

from alloypref.completion.grammar import formula_text
from alloypref.completion.parsing import parse_generation
from alloypref.composition import FormulaError, master_from_text, parse_formula

BATCH, EXAMPLES = 20, 500
STRINGS = BATCH * EXAMPLES  # 10,000
KNOWN = {element.symbol for element in Element}
ALLOWED = ["Al", "Mo", "Nb", "Ni", "Ti", "V"]
SYMBOLS = ALLOWED + ["Fe", "Xx", "Q", "N", "Na", "e", "E", "ni", "NI"]
NUMBERS = [
    "",
    "0",
    "1",
    "2",
    "0.5",
    ".5",
    "5.",
    "33",
    "1e400",
    "1e-400",
    "1E5",
    "-1",
    "nan",
    "inf",
    "1000001",
    "0.000000000001",
    "9" * 40,
]
PIECES = (
    SYMBOLS
    + NUMBERS
    + ["(", ")", " ", "\n", "\t", ".", "+", ",", "<BCC>", "</BCC>", "<B2>", "</B2>", "<B2 Volume>", "</B2 Volume>"]
)

# Formula-shaped text (symbols, amounts, parentheses, junk) mixed with arbitrary unicode.
formula_like = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
# Valid-looking formulas of allowed elements, so that ``ok`` answers are common enough to check.
plain = st.lists(
    st.tuples(st.sampled_from(ALLOWED), st.sampled_from(["", "1", "2", "0.5", "33", "12.5"])), min_size=1, max_size=4
)
good_formulas = plain.map(lambda parts: "".join(el + n for el, n in parts))
# Formulas in the training data's notation (distinct elements, whole percentages), so that
# well-formed, ``ok`` answers are common enough to check.
notation_formulas = st.lists(
    st.tuples(st.sampled_from(ALLOWED), st.integers(1, 99)), min_size=1, max_size=3, unique_by=lambda t: t[0]
).map(lambda parts: formula_text({el: n / sum(m for _, m in parts) for el, n in parts}))
texts = st.one_of(formula_like, st.text(max_size=30), good_formulas)
volumes = st.one_of(
    st.sampled_from(NUMBERS),
    st.text(alphabet="0123456789.-+eE", max_size=8),
    st.text(max_size=6),
    st.floats(0, 100).map(lambda v: f"{v:.2f}"),
)


def tagged(bcc, b2, volume):
    return f"<BCC>{bcc}</BCC><B2>{b2}</B2><B2 Volume>{volume}</B2 Volume>"


completions = st.one_of(
    st.builds(tagged, texts, texts, volumes),
    st.builds(tagged, good_formulas, good_formulas, st.floats(0, 100).map(lambda v: f"{v:.2f}")),
    st.builds(tagged, notation_formulas, notation_formulas, st.floats(0, 100).map(lambda v: f"{v:.2f}")),  # ok
    texts,
)
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def assert_composition(fractions):
    assert fractions and set(fractions) <= KNOWN
    assert all(math.isfinite(x) and 0 < x <= 1 for x in fractions.values())
    assert math.isclose(sum(fractions.values()), 1.0, rel_tol=0, abs_tol=1e-9)


def test_formula_parser_fuzz():
    seen = {"n": 0, "ok": 0}

    @FUZZ
    @given(st.lists(texts, min_size=BATCH, max_size=BATCH))
    def check(batch):
        for text in batch:
            seen["n"] += 1
            try:
                fractions = parse_formula(text)
            except FormulaError:
                continue
            seen["ok"] += 1
            assert_composition(fractions)

    check()
    assert (
        seen["n"] >= STRINGS and seen["ok"] > 100
    )  # the strategy reaches valid formulas too  # the strategy reaches valid formulas too


def test_completion_parser_fuzz():
    seen = {"n": 0, "ok": 0}

    @FUZZ
    @given(st.lists(completions, min_size=BATCH, max_size=BATCH))
    def check(batch):
        for text in batch:
            seen["n"] += 1
            parsed = parse_generation(text, ALLOWED)
            if parsed["status"] != "ok":
                assert parsed["reason"]
                continue
            seen["ok"] += 1
            assert 0 <= parsed["b2_volume_percent"] <= 100
            master = master_from_text(parsed["bcc"], parsed["b2"], parsed["b2_volume_percent"], ALLOWED)
            assert_composition(master)
            assert set(master) <= set(ALLOWED)
            for formula in (parsed["bcc"], parsed["b2"]):  # well-formed: each element written once
                symbols = re.findall(r"[A-Z][a-z]?", formula)
                assert len(set(symbols)) == len(symbols), formula

    check()
    assert seen["n"] >= STRINGS and seen["ok"] > 100
