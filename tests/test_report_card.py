"""Database report card: facts file checks, agreement on a published assessment, the pair summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alloypref.calphad.report_card import (
    PAIR_SUMMARY_SCHEMA,
    FactsError,
    ReportCardSettings,
    card_html,
    evaluate,
    facts_within,
    load_facts,
    pair_summary,
    pair_trust,
    parse_composition,
)

HEADER = "fact_id,kind,elements,composition,temperature_K,expected,tolerance_K,source\n"
# Dupin's database describes FCC with an order/disorder model; pure Ni and dilute Ni(Al) come out as
# FCC_L12 in its disordered state, so the test calls it FCC (no fact here is about L1_2 order).
NIAL = ReportCardSettings(structures={"nial": {"FCC_A1": "FCC", "FCC_L12": "FCC"}})


def write_facts(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "facts.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_shipped_facts_load_and_cover_every_element_of_the_roles():
    facts = load_facts()
    assert len(facts) >= 150
    assert facts["fact_id"].is_unique
    elements = {e for text in facts["elements"] for e in text.split("-")}
    assert elements == {"Al", "Co", "Cr", "Fe", "Hf", "Mn", "Mo", "Nb", "Ni", "Ta", "Ti", "V", "W", "Zr"}
    assert set(facts.loc[facts["kind"] == "melting_point", "elements"]) == elements


@pytest.mark.parametrize(
    ("row", "culprit"),
    [
        ("a,b2_compound,Ni-Al,Al50Ni50,1273,B2,,X:Al-Ni", "line 2, column elements"),
        ("a,b2_compound,Al-Ni,Al50Ni40,1273,B2,,X:Al-Ni", "line 2, column composition"),
        ("a,b2_compound,Al-Ni,Al50Ni50,1273,BCC2,,X:Al-Ni", "line 2, column expected"),
        ("a,melting_point,Ni,Ni100,1728,LIQUID,,X:Ni", "line 2, column tolerance_K"),
        ("a,b2_phase,Al-Ni,Al50Ni50,1273,B2,,X:Al-Ni", "line 2, column kind"),
    ],
)
def test_a_bad_fact_names_its_line_and_column(tmp_path, row, culprit):
    with pytest.raises(FactsError, match=culprit):
        load_facts(write_facts(tmp_path, row))


def test_a_repeated_fact_id_names_both_lines(tmp_path):
    row = "a,pure_structure,Ni,Ni100,373,FCC,,X:Ni"
    with pytest.raises(FactsError, match="repeats \\(first on line 2\\)"):
        load_facts(write_facts(tmp_path, row, row))


def test_parse_composition():
    assert parse_composition("Al25Ni75") == {"Al": 0.25, "Ni": 0.75}
    with pytest.raises(ValueError, match="Al50Ni50"):
        parse_composition("Al-50")


def test_facts_within_keeps_only_design_space_facts():
    facts = load_facts()
    kept = facts_within(facts, ["Al", "Ni"])
    assert set(kept["elements"]) == {"Al", "Ni", "Al-Ni"}


def test_report_card_on_the_nial_assessment(reference_backend, tmp_path):
    """NiAl is B2 and Ni FCC on Dupin's Al-Ni assessment; a deliberately wrong fact disagrees and a
    fact with an element the database lacks is not computable (not a disagreement)."""
    facts = load_facts(
        write_facts(
            tmp_path,
            "nial-b2,b2_compound,Al-Ni,Al50Ni50,1273.15,B2,,X:Al-Ni",
            "nial-wrong,fcc_solid_solution,Al-Ni,Al50Ni50,1273.15,FCC,,X:Al-Ni",
            "ni-fcc,pure_structure,Ni,Ni100,1273.15,FCC,,X:Ni",
            "ni-melt,melting_point,Ni,Ni100,1728,LIQUID,20,X:Ni",
            "ni-melt-wrong,melting_point,Ni,Ni100,1600,LIQUID,20,X:Ni",
            "alfe-b2,b2_compound,Al-Fe,Al40Fe60,1073.15,B2,,X:Al-Fe",
        )
    )
    backend = type(reference_backend)(
        [reference_backend.specs["nial"]], reference_backend.settings, reference_backend.cache_dir
    )
    card = evaluate(facts, backend, NIAL).set_index("fact_id")
    assert card.loc["nial-b2", "agrees"] == True  # noqa: E712 (a nullable boolean)
    assert card.loc["nial-b2", "predicted"] == "B2"
    assert card.loc["nial-wrong", "agrees"] == False  # noqa: E712
    assert card.loc["ni-fcc", "agrees"] == True  # noqa: E712
    assert card.loc["ni-melt", "agrees"] == True  # noqa: E712
    assert card.loc["ni-melt", "predicted"] == "FCC / LIQUID"
    assert card.loc["ni-melt-wrong", "agrees"] == False  # noqa: E712
    assert pd.isna(card.loc["alfe-b2", "agrees"])
    assert card.loc["alfe-b2", "status"] == "not_computable"

    html = card_html(card.reset_index())
    assert "<td>nial</td>" in html and "<td>0.600</td>" in html  # 3 of the 5 computable facts agree
    assert "not computable" in html

    summary = pair_summary(card.reset_index())
    assert list(summary.columns) == PAIR_SUMMARY_SCHEMA.names
    rows = summary.set_index(["element_a", "element_b"])
    assert rows.loc[("Al", "Ni"), ["n_facts", "n_agree"]].tolist() == [2, 1]
    assert rows.loc[("Al", "Ni"), "agreement"] == 0.5
    assert rows.loc[("Ni", "Ni"), "n_facts"] == 3
    assert rows.loc[("Al", "Fe"), "n_facts"] == 0
    trust = pair_trust(summary)
    assert trust == {("nial", "Al", "Fe"): False, ("nial", "Al", "Ni"): False, ("nial", "Ni", "Ni"): False}
    complete = pair_summary(card.reset_index(), elements=["Al", "Ni", "Ti"], databases=["nial"])
    assert len(complete) == 6 + 1  # Al, Ni, Ti and their three pairs, plus Al-Fe from the card
    assert complete.set_index(["element_a", "element_b"]).loc[("Ni", "Ti"), ["n_facts", "trusted"]].tolist() == [
        0,
        False,
    ]
    lenient = pair_trust(pair_summary(card.reset_index(), min_agreement=0.5))
    assert lenient[("nial", "Al", "Ni")] is True
    assert lenient[("nial", "Al", "Fe")] is False  # no computable fact: never trusted


def test_pair_trust_needs_every_key_column():
    with pytest.raises(ValueError, match="trusted"):
        pair_trust(pd.DataFrame({"database": ["a"], "element_a": ["Al"], "element_b": ["Ni"]}))
