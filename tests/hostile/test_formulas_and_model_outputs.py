"""Hostile formulas, volumes and model outputs: each is a named error or a non-ok status, never ``ok``."""

import math

import pytest

from alloypref.completion.parsing import parse_generation
from alloypref.composition import FormulaError, master_from_text, parse_formula, volume_fraction

BAD_FORMULAS = [
    "",
    "   ",
    "Ni1e400Al",  # overflows to inf: was {Al: 0, Ni: nan}, scored ok as Al25
    "Ni1e300Al1e300",  # total overflows
    "NiAl1e-400",  # underflows to 0
    "Ni1E5Al",
    "Ni2e0Al",
    "NiAl0",
    "Ni0.0Al",
    "Ni-1Al",
    "Ni+Al",
    "Xx2",
    "ni al",
    "Ni\nAl",  # a line break (a CSV field spanning lines)
    "Ni\tAl",
    "Ni\x00Al",
    "NiAl;rm -rf /",
    "Ni1000001Al",  # amount out of range
    "NiAl0.000000000001",  # pymatgen drops Al silently
    "((Ni1000000)1000000Al)",  # fractions not normalisable to usable numbers
    "Al(",
    "Ni)Al(",
    "Ni..5Al",
    "nan",
    "inf",
    "Ni\u0663Al",  # an Arabic-Indic digit
    "\uff2e\uff49\uff21\uff4c",  # full-width NiAl
    "<BCC>NiAl</BCC>",
    "1234",
    None,
    12.5,
]


@pytest.mark.parametrize("formula", BAD_FORMULAS, ids=[repr(f)[:30] for f in BAD_FORMULAS])
def test_bad_formula_is_a_named_error(formula):
    with pytest.raises(FormulaError, match="formula"):
        parse_formula(formula)


BAD_VOLUMES = [math.nan, math.inf, -math.inf, -0.1, 100.1, "abc", None, "1e400"]


@pytest.mark.parametrize("volume", BAD_VOLUMES, ids=[repr(v) for v in BAD_VOLUMES])
def test_bad_volume_is_a_named_error(volume):
    with pytest.raises(FormulaError, match="B2 volume"):
        volume_fraction(volume)
    with pytest.raises(FormulaError):
        master_from_text("Nb", "NiAl", volume)


ALLOWED = ["Ti", "V", "Ni", "Al", "Nb", "Mo"]


def tagged(bcc, b2, volume):
    return f"<BCC>{bcc}</BCC><B2>{b2}</B2><B2 Volume>{volume}</B2 Volume>"


BAD_OUTPUTS = [
    (tagged("Ni1e400Al", "NiAl", "30"), "invalid_formula"),
    (tagged("Nb", "Ni1e400Al", "30"), "invalid_formula"),
    (tagged("Nb", "NiAl", "1e400"), "unparseable"),
    (tagged("Nb", "NiAl", "nan"), "unparseable"),
    (tagged("Nb", "NiAl", "inf"), "unparseable"),
    (tagged("Nb", "NiAl", "1_0"), "unparseable"),
    (tagged("Nb", "NiAl", "30%"), "unparseable"),
    (tagged("Nb", "NiAl", ""), "unparseable"),
    (tagged("Nb", "NiAl", "3O"), "unparseable"),
    (tagged("Nb", "NiAl", "9" * 400), "volume_out_of_range"),
    (tagged("Nb", "NiAl", "-5"), "volume_out_of_range"),
    (tagged("Nb", "NiAl", "100.5"), "volume_out_of_range"),
    (tagged("Nb\nMo", "NiAl", "30"), "invalid_formula"),
    (tagged("W", "NiAl", "30"), "unknown_element"),
    (tagged("Qq", "NiAl", "30"), "unknown_element"),
    (tagged("", "NiAl", "30"), "invalid_formula"),
    (tagged("Nb", "NiAl", "30") * 2, "unparseable"),
    ("<B2>NiAl</B2><BCC>Nb</BCC><B2 Volume>30</B2 Volume>", "unparseable"),
    ("<BCC>Nb<B2>NiAl</B2></BCC><B2 Volume>30</B2 Volume>", "unparseable"),
    ("Nb, NiAl, 30", "unparseable"),
    ("", "unparseable"),
]


@pytest.mark.parametrize("text, status", BAD_OUTPUTS, ids=[f"{i}-{s}" for i, (_, s) in enumerate(BAD_OUTPUTS)])
def test_bad_model_output_is_never_ok(text, status):
    parsed = parse_generation(text, ALLOWED)
    assert parsed["status"] == status
    assert parsed["reason"]
