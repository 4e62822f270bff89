import math

import pytest

from alloypref.composition import (
    FormulaError,
    canonical_formula,
    master_composition,
    master_from_text,
    parse_formula,
    rounded,
)


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("Ti2Nb2Mo", {"Mo": 0.2, "Nb": 0.4, "Ti": 0.4}),
        ("Nb67Mo33", {"Mo": 0.33, "Nb": 0.67}),
        ("MnAl2Fe", {"Al": 0.5, "Fe": 0.25, "Mn": 0.25}),
        ("Cr33Fe67", {"Cr": 0.33, "Fe": 0.67}),
        ("Al0.5Ni0.5", {"Al": 0.5, "Ni": 0.5}),
        ("TiV", {"Ti": 0.5, "V": 0.5}),
        ("W", {"W": 1.0}),
    ],
)
def test_parse_formula_gives_atomic_fractions(formula, expected):
    fractions = parse_formula(formula)
    assert fractions.keys() == expected.keys()
    for element, value in expected.items():
        assert fractions[element] == pytest.approx(value)
    assert math.fsum(fractions.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "formula, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Xx2Nb", "Xx2Nb"),
        ("Nb0Mo", "zero"),
        ("Nb-1Mo", "Nb-1Mo"),
        ("Nb<BCC>", "Nb<BCC>"),
    ],
)
def test_bad_formulas_name_the_input(formula, fragment):
    with pytest.raises(FormulaError, match=fragment):
        parse_formula(formula)


def test_element_outside_allowed_set_is_named():
    with pytest.raises(FormulaError, match="Ru"):
        parse_formula("NbRu", allowed_elements=["Nb", "Mo"])


def test_master_composition_mixes_by_b2_fraction():
    # Fig. 9: Cr33Fe67 + MnAl2Fe at 61.65 %.
    master = master_from_text("Cr33Fe67", "MnAl2Fe", 61.65)
    f = 0.6165
    assert master["Cr"] == pytest.approx((1 - f) * 0.33)
    assert master["Fe"] == pytest.approx((1 - f) * 0.67 + f * 0.25)
    assert master["Al"] == pytest.approx(f * 0.5)
    assert master["Mn"] == pytest.approx(f * 0.25)
    assert math.fsum(master.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("volume", [-0.1, 100.01, float("nan"), "abc"])
def test_volume_outside_range_is_rejected(volume):
    with pytest.raises(FormulaError, match="B2 volume"):
        master_composition({"Nb": 1.0}, {"Ni": 0.5, "Al": 0.5}, volume)


def test_volume_edges_give_pure_parents():
    assert master_composition({"Nb": 1.0}, {"Al": 1.0}, 0) == {"Nb": 1.0}
    assert master_composition({"Nb": 1.0}, {"Al": 1.0}, 100) == {"Al": 1.0}


def test_canonical_formula_is_order_independent_and_rounded():
    a = canonical_formula(parse_formula("Nb2Mo"))
    b = canonical_formula(parse_formula("MoNb2"))
    assert a == b == "Mo33.33Nb66.67"
    assert rounded({"Nb": 0.5, "Mo": 0.5}) == rounded({"Mo": 0.500001, "Nb": 0.499999})


def test_atomic_from_weight_percent_reproduces_the_fbb8_fact():
    """FBB8, Fe-6.5Al-10Cr-10Ni-3.4Mo-0.25Zr wt% (B left out), is the facts' Al12.73Cr10.16Fe66.1Mo1.87Ni9Zr0.14
    (atomic percent rounded to 0.01, Fe the balance)."""
    from alloypref.composition import atomic_from_weight_percent

    atomic = atomic_from_weight_percent({"Fe": 69.85, "Al": 6.5, "Cr": 10, "Ni": 10, "Mo": 3.4, "Zr": 0.25})
    solutes = {e: round(100 * x, 2) for e, x in atomic.items() if e != "Fe"}
    assert solutes == {"Al": 12.73, "Cr": 10.16, "Ni": 9.0, "Mo": 1.87, "Zr": 0.14}
    assert round(100 - sum(solutes.values()), 2) == 66.1
    assert math.isclose(sum(atomic.values()), 1.0)
    ti64 = atomic_from_weight_percent({"Ti": 90, "Al": 6, "V": 4})  # Ti-6Al-4V: Al10.2Ti86.2V3.6
    assert [round(100 * ti64[e], 1) for e in ("Al", "Ti", "V")] == [10.2, 86.2, 3.6]
    with pytest.raises(FormulaError, match="'Al'"):
        atomic_from_weight_percent({"Fe": 90, "Al": -1})
    with pytest.raises(FormulaError, match="'Xq'"):
        atomic_from_weight_percent({"Fe": 90, "Xq": 10})
