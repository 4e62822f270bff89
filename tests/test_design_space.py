"""Design space: enumeration counts, formulas, the single-phase filter, triples and prompts."""

import warnings
from fractions import Fraction

import numpy as np
import pytest

from alloypref.composition import parse_formula
from alloypref.design_space import (
    DesignSpaceError,
    ElementRoles,
    VolumeSettings,
    candidates_table,
    completion_text,
    concentration_tuples,
    draw_volumes,
    enumerate_b2,
    enumerate_bcc,
    filter_single_phase,
    formula_text,
    prompt_text,
    sft_triples,
)

ROLES = ElementRoles(("Mo", "Nb", "V"), ("Al", "Ti"), ("Ni",), ("V",))


def test_concentration_tuples_sum_to_100():
    assert concentration_tuples(1) == [(100,)]
    binary = {tuple(float(c) for c in t) for t in concentration_tuples(2)}
    assert binary == {(25, 75), (75, 25), (50, 50), (100 / 3, 200 / 3), (200 / 3, 100 / 3)}
    ternary = concentration_tuples(3)
    assert len(ternary) == 7  # permutations of (20,40,40), (25,25,50) and (33.3,33.3,33.3)
    assert all(sum(t) == 100 for t in ternary)


def test_bcc_enumeration_counts():
    # 3 pure + 3 pairs x 5 + 1 triple x 7
    assert len(enumerate_bcc(("Mo", "Nb", "V"), 3)) == 3 + 15 + 7
    assert len(enumerate_bcc(("Mo", "Nb", "V"), 1)) == 3
    assert len(enumerate_bcc(("Mo", "Nb", "V", "W"), 2)) == 4 + 6 * 5


def test_b2_enumeration_has_each_site_at_half():
    b2 = enumerate_b2(ROLES)
    # A = {Al, Ti, V}, B = {Ni, V}; site sets A: 3 singles + 3 pairs, B: 2 singles + 1 pair; disjoint
    expected = {
        frozenset(d.items())
        for d in [
            {"Al": Fraction(1, 2), "Ni": Fraction(1, 2)},
            {"Al": Fraction(1, 2), "V": Fraction(1, 2)},
            {"Ti": Fraction(1, 2), "Ni": Fraction(1, 2)},
        ]
    }
    compositions = {frozenset(f.items()) for f, _ in b2}
    assert expected <= compositions
    assert len(b2) == 12
    for fractions, order in b2:
        assert sum(fractions.values()) == 1
        assert set(fractions.values()) <= {Fraction(1, 4), Fraction(1, 2)}
        assert order[0] in {"Al", "Ti", "V"}


def test_formulas_are_written_like_the_paper():
    assert formula_text({"Ti": 0.4, "Nb": 0.4, "Mo": 0.2}, ["Ti", "Nb", "Mo"]) == "Ti2Nb2Mo"
    assert formula_text({"Nb": Fraction(2, 3), "Mo": Fraction(1, 3)}) == "Nb67Mo33"
    assert formula_text({"Mn": 0.25, "Al": 0.5, "Fe": 0.25}, ["Mn", "Al", "Fe"]) == "MnAl2Fe"
    assert formula_text({"Ti": 0.5, "V": 0.5}) == "TiV"
    for fractions in enumerate_bcc(("Mo", "Nb", "V"), 3):
        parsed = parse_formula(formula_text(fractions))
        assert all(abs(parsed[e] - float(x)) < 0.01 for e, x in fractions.items())


def test_candidates_table_counts_and_seeds():
    table, counts = candidates_table(ROLES, 3, seed_bcc=["Nb50Mo50", "Nb60Mo40"], seed_b2=["NiAl"])
    assert counts["bcc_enumerated"] == 25
    assert counts["b2_enumerated"] == 12
    # Nb50Mo50 and NiAl duplicate enumerated ones; Nb60Mo40 is new
    assert counts["duplicates_removed"] == 2
    assert counts["bcc_seeds"] == 1 and counts["b2_seeds"] == 0
    assert len(table) == 25 + 12 + 1


def test_seed_outside_the_design_space_is_named():
    with pytest.raises(ValueError, match="W"):
        candidates_table(ROLES, 2, seed_bcc=["W"])


def test_unknown_element_in_roles_is_named():
    with pytest.raises(DesignSpaceError, match="Xq"):
        ElementRoles.from_config({"bcc_formers": ["Nb", "Xq"], "b2_a_site": [], "b2_b_site": []})


def test_roles_restricted_to_databases_warn_with_names():
    roles = ElementRoles(("Nb", "Re"), ("Al",), ("Ni", "Ru"), ())
    with pytest.warns(UserWarning, match=r"\['Re', 'Ru'\]"):
        restricted = roles.restricted_to({"Nb", "Al", "Ni"})
    assert restricted.all_elements == {"Nb", "Al", "Ni"}


def test_elements_left_out_by_choice_are_not_reported_as_uncovered(recwarn):
    roles = ElementRoles(("Nb", "Mo", "Re"), ("Al",), ("Ni",), ())
    restricted = roles.restricted_to({"Nb", "Mo", "Al", "Ni"}, only=["Nb", "Al", "Ni"])
    assert restricted.all_elements == {"Nb", "Al", "Ni"}
    assert not [w for w in recwarn if "dropped" in str(w.message)]
    assert roles.subset({"Nb", "Ni"}).all_elements == {"Nb", "Ni"}


def test_empty_design_space_is_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DesignSpaceError, match="empty"):
            ROLES.restricted_to({"Cu"})
    with pytest.raises(DesignSpaceError, match="design_space.elements"):
        ROLES.restricted_to({"Nb"}, only=["Nb", "Pt"])


def test_paper_list_sizes_give_the_paper_counts():
    bcc = [f"Nb{i}Mo{100 - i}" for i in range(207)]
    b2 = [f"Ni{i}Al{100 - i}" for i in range(88)]
    triples = sft_triples(bcc, b2, ["Al", "Mo", "Nb", "Ni"], seed=1)
    assert triples[["bcc", "b2"]].drop_duplicates().shape[0] == 18_216
    assert len(triples) == 54_648


@pytest.mark.parametrize("scheme", ["normal", "uniform"])
def test_volumes_are_distinct_in_range_two_decimals_and_seeded(scheme):
    volumes = draw_volumes(2000, VolumeSettings(scheme), seed=7)
    assert volumes.shape == (2000, 3)
    assert volumes.min() >= 20 and volumes.max() <= 70
    assert np.allclose(volumes, np.round(volumes, 2))
    assert all(len(set(row)) == 3 for row in volumes)
    assert np.array_equal(volumes, draw_volumes(2000, VolumeSettings(scheme), seed=7))
    assert not np.array_equal(volumes, draw_volumes(2000, VolumeSettings(scheme), seed=8))
    if scheme == "normal":
        assert 43 < volumes.mean() < 47
    else:
        assert 43 < volumes.mean() < 47 and (volumes > 65).mean() > 0.05


def test_completion_and_prompt_format():
    assert completion_text("TiV", "NbRu", 34.8) == "<BCC>TiV</BCC><B2>NbRu</B2><B2 Volume>34.80</B2 Volume>"
    prompt = prompt_text(["V", "Al", "Nb"])
    assert "Al, Nb, V" in prompt and "BCC-B2 intermetallic alloy" in prompt
    assert "Al, Nb, V" in prompt_text(["V", "Al", "Nb"], "short")
    with pytest.raises(DesignSpaceError, match="prompt_template"):
        prompt_text(["Al"], "haiku")


def test_bad_volume_scheme_names_the_key():
    with pytest.raises(DesignSpaceError, match="design_space.volume.scheme"):
        VolumeSettings("lognormal")
    with pytest.raises(DesignSpaceError, match="low 70"):
        VolumeSettings(low=70, high=20)


def test_sft_triples_need_both_lists():
    with pytest.raises(DesignSpaceError, match="0 B2"):
        sft_triples(["Nb"], [], ["Nb"])


def test_filter_keeps_known_single_phase_compositions(reference_backend):
    """NiAl is >99 % B2 and Fe70Al30 is B2 at 773 K; Ni3Al is not B2; pure Fe is BCC at 773 K."""
    import pandas as pd

    from alloypref.composition import canonical_formula

    rows = [("b2", "NiAl"), ("b2", "Ni3Al"), ("b2", "Fe7Al3"), ("bcc", "Fe"), ("bcc", "NiAl")]
    candidates = pd.DataFrame(
        [
            {
                "kind": k,
                "formula": f,
                "composition": canonical_formula(parse_formula(f)),
                "elements": "-".join(sorted(parse_formula(f))),
                "n_elements": len(parse_formula(f)),
                "source": "test",
            }
            for k, f in rows
        ]
    )
    filtered = filter_single_phase(candidates, reference_backend, [773.15])
    keep = dict(zip(filtered.kind + ":" + filtered.formula, filtered.keep))
    assert keep == {"b2:NiAl": True, "b2:Ni3Al": False, "b2:Fe7Al3": True, "bcc:Fe": True, "bcc:NiAl": False}
    assert (filtered.status == "ok").all()
