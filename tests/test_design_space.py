"""Design space: enumeration counts, formulas, the single-phase filter, triples and prompts."""

import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
from alloypref.calphad.report_card import SUBSYSTEM_VERDICT_SCHEMA
from alloypref.calphad.tables import phase_table
from alloypref.calphad.trust import TrustEvidence, TrustVerdict
from alloypref.composition import parse_formula
from alloypref.design_space import (
    FILTER_SCHEMA,
    DesignSpaceError,
    ElementRoles,
    VolumeSettings,
    _filter_rows,
    candidates_table,
    completion_text,
    concentration_tuples,
    curated_lists,
    draw_volumes,
    enumerate_b2,
    enumerate_bcc,
    filter_single_phase,
    formula_text,
    prompt_text,
    sft_triples,
    single_phase_fractions,
)

from .helpers import verdict

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

    candidates = _candidates(("b2", "NiAl"), ("b2", "Ni3Al"), ("b2", "Fe7Al3"), ("bcc", "Fe"), ("bcc", "NiAl"))
    # trust evidence that speaks of both databases and holds nothing against them: every candidate trusted
    nothing_against = TrustEvidence(
        pd.DataFrame([], columns=PHASE_CHECK_SCHEMA.names),
        pd.DataFrame([verdict("nial", "Al-Ni"), verdict("alfe", "Al-Fe")], columns=SUBSYSTEM_VERDICT_SCHEMA.names),
        [773.15],
        listed_systems={"Al-Ni", "Al-Fe"},
    )
    filtered = filter_single_phase(candidates, reference_backend, [773.15], trust_evidence=nothing_against)
    keep = dict(zip(filtered.kind + ":" + filtered.formula, filtered.keep))
    assert keep == {"b2:NiAl": True, "b2:Ni3Al": False, "b2:Fe7Al3": True, "bcc:Fe": True, "bcc:NiAl": False}
    assert (filtered.status == "ok").all() and filtered.trusted.all()
    # without evidence nothing is trusted, so nothing is kept
    untrusted = filter_single_phase(candidates, reference_backend, [773.15])
    assert not untrusted.keep.any() and (untrusted.trust_reason != "").all()


def _candidates(*rows):
    from alloypref.composition import canonical_formula

    return pd.DataFrame(
        [
            {
                "kind": kind,
                "formula": formula,
                "composition": canonical_formula(parse_formula(formula)),
                "elements": "-".join(sorted(parse_formula(formula))),
                "n_elements": len(parse_formula(formula)),
                "source": "test",
            }
            for kind, formula in rows
        ]
    )


def _phase_rows(temperature, *sets):
    """Phase-table rows at one temperature (K): ``(phase, structure, mole fraction, lattice Å)``."""
    return [
        {
            "temperature_K": temperature,
            "phase": phase,
            "structure": structure,
            "mole_fraction": fraction,
            "is_ordered": structure == "B2",
            "order_parameter": 0.3 if structure == "B2" else 0.0,
            "lattice_parameter_A": lattice,
            "status": "ok",
        }
        for phase, structure, fraction, lattice in sets
    ]


def test_two_bcc_sets_of_distinct_lattice_are_not_single_phase():
    # Cr50W50 at 1273 K on mc_ni: a miscibility gap, two BCC sets of 2.908 and 3.139 Å
    gap = phase_table(_phase_rows(1273.0, ("BCC_A2#1", "BCC", 0.52, 2.908), ("BCC_A2#2", "BCC", 0.48, 3.139)))
    largest, why = single_phase_fractions(gap, "BCC")
    assert largest.to_dict() == {1273.0: 0.52}
    assert why == "two BCC phases at 1273 K (composition sets of lattice parameters 2.908, 3.139 Å)"
    # two sets that converged to one composition (lattice within the tolerance) are one phase
    same = phase_table(_phase_rows(1273.0, ("BCC_A2#1", "BCC", 0.6, 3.0), ("BCC_A2#2", "BCC", 0.4, 3.0 + 1e-6)))
    largest, why = single_phase_fractions(same, "BCC")
    assert largest[1273.0] == pytest.approx(1.0) and why == ""
    # per temperature: the smallest over the filter temperatures decides
    mixed = phase_table(
        _phase_rows(773.0, ("BCC_A2#1", "BCC", 0.9, 2.95), ("BCC_A2#2", "BCC", 0.1, 3.1))
        + _phase_rows(1273.0, ("BCC_A2#1", "BCC", 1.0, 3.0))
    )
    assert single_phase_fractions(mixed, "BCC")[0].to_dict() == {773.0: 0.9, 1273.0: 1.0}
    assert single_phase_fractions(mixed, "B2")[0].to_dict() == {773.0: 0.0, 1273.0: 0.0}


class _Choice:
    def __init__(self, database, trusted, reasons=()):
        self.database, self.coverage = database, 1.0
        self.verdict = TrustVerdict(database, trusted, tuple(reasons))


class _Backend:
    """Ranks databases as told: ``trusted`` maps an element set to the first database's trust."""

    def __init__(self, trusted):
        self.trusted = trusted

    def database_choices(self, fractions, evidence):
        key = "-".join(sorted(fractions))
        ok = self.trusted[key]
        return [_Choice("db", ok, () if ok else (f"{key}: db fails detection fact(s) f1",))]


class _Solver:
    def __init__(self, tables):
        self.tables = tables

    def phase_table(self, fractions, temperatures, database):
        return self.tables["-".join(sorted(fractions))]


def test_filter_keeps_no_untrusted_candidate_and_no_two_phase_bcc():
    single = phase_table(_phase_rows(1273.0, ("BCC_A2#1", "BCC", 1.0, 3.0)))
    gap = phase_table(_phase_rows(1273.0, ("BCC_A2#1", "BCC", 0.5, 2.908), ("BCC_A2#2", "BCC", 0.5, 3.139)))
    candidates = _candidates(("bcc", "Mo"), ("bcc", "Nb"), ("bcc", "CrW"))
    backend = _Backend({"Mo": True, "Nb": False, "Cr-W": True})
    rows = pd.DataFrame(
        _filter_rows(
            candidates, backend, _Solver({"Mo": single, "Nb": single, "Cr-W": gap}), (1273.0,), 0.99, None, None
        ),
        columns=FILTER_SCHEMA.names,
    ).set_index("formula")
    assert rows.loc["Mo", "keep"] and rows.loc["Mo", "trusted"] and rows.loc["Mo", "trust_reason"] == ""
    # single-phase BCC, but its database is not trusted for it: not kept, and the table says why
    assert not rows.loc["Nb", "keep"] and not rows.loc["Nb", "trusted"]
    assert rows.loc["Nb", "trust_reason"] == "Nb: db fails detection fact(s) f1"
    assert rows.loc["Nb", "min_bcc_fraction"] == 1.0
    # trusted, 100 % BCC in sum, but two BCC phases: not kept
    assert not rows.loc["CrW", "keep"] and rows.loc["CrW", "min_bcc_fraction"] == 0.5
    assert rows.loc["CrW", "reason"].startswith("two BCC phases at 1273 K")
    bcc, _, counts = curated_lists(rows.reset_index(), min_coverage=0.5)
    assert list(bcc["formula"]) == ["Mo"] and counts["untrusted"] == 1
