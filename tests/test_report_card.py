"""Database report card: facts file checks, how each kind of fact is judged, agreement on a published
assessment, the pair summary, the subsystem verdicts and the resumable shards."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from alloypref.calphad import report_card
from alloypref.calphad.databases import DatabaseSettings
from alloypref.calphad.report_card import (
    DATABASE_SUMMARY_SCHEMA,
    PAIR_SUMMARY_SCHEMA,
    SUBSYSTEM_VERDICT_SCHEMA,
    FactsError,
    ReportCardSettings,
    card_html,
    database_summary,
    evaluate,
    evaluate_sharded,
    facts_within,
    judge,
    load_facts,
    pair_summary,
    pair_trust,
    parse_composition,
    subsystem_verdicts,
)

HEADER = "fact_id,kind,elements,composition,temperature_K,expected,expected_above,tolerance_K,role,status,source\n"
# Dupin's database describes FCC with an order/disorder model; pure Ni and dilute Ni(Al) come out as
# FCC_L12 in its disordered state, so the test calls it FCC (no fact here is about L1_2 order).
NIAL = ReportCardSettings(structures={"nial": {"FCC_A1": "FCC", "FCC_L12": "FCC"}})


def write_facts(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "facts.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_shipped_facts_load_and_cover_every_element_of_the_roles():
    facts = load_facts()
    assert len(facts) >= 300
    assert facts["fact_id"].is_unique
    elements = {e for text in facts["elements"] for e in text.split("-")}
    assert elements == {"Al", "Co", "Cr", "Fe", "Hf", "Mn", "Mo", "Nb", "Ni", "Ta", "Ti", "V", "W", "Zr"}
    assert set(facts.loc[facts["kind"] == "melting_point", "elements"]) == elements
    # the kinds the trust work needs are all there, and both roles
    assert set(facts["kind"]) >= {"two_phase_a2_b2", "order_disorder", "congruent_melting", "laves_competition"}
    assert set(facts["kind"]) >= {"no_liquid", "alloy_phase_set", "phase_present"}
    assert set(facts["role"]) == {"calibration", "detection"}
    # the facts the trust work must catch: mc_ni's Ni-V liquid and HfCr2
    no_liquid = facts[facts["kind"] == "no_liquid"].set_index("fact_id")
    assert no_liquid.loc["Ni-V-solid-Ni90V10-1073", ["role", "composition"]].tolist() == ["detection", "Ni90V10"]
    assert facts.set_index("fact_id").loc["Cr-Hf-laves-1073", "expected"] == "LAVES"


def row(fact_id="a", kind="b2_compound", elements="Al-Ni", composition="Al50Ni50", temperature="1273", expected="B2",
        above="", tolerance="", role="detection", status="unconfirmed", source="X:Al-Ni"):  # fmt: skip
    return ",".join(
        [fact_id, kind, elements, composition, temperature, expected, above, tolerance, role, status, source]
    )


@pytest.mark.parametrize(
    ("line", "culprit"),
    [
        (row(elements="Ni-Al"), "line 2, column elements"),
        (row(composition="Al50Ni40"), "line 2, column composition"),
        (row(expected="BCC2"), "line 2, column expected: unknown phase in 'BCC2'"),
        (
            row(kind="melting_point", elements="Ni", composition="Ni100", expected="LIQUID"),
            "line 2, column tolerance_K",
        ),
        (row(kind="b2_phase"), "line 2, column kind: unknown kind 'b2_phase'"),
        (row(elements="Al-Xx", composition="Al50Xx50"), "line 2, column elements: unknown element 'Xx'"),
        (row(elements="Al-Ni", composition="Al50Nq50"), "line 2, column composition: .*'Nq' is not a chemical element"),
        (row(role="calibrate"), "line 2, column role: unknown role 'calibrate'"),
        (row(status="sure"), "line 2, column status: unknown status 'sure'"),
        (row(kind="no_liquid", expected="FCC"), "line 2, column expected: 'FCC': a no_liquid fact expects LIQUID"),
        (row(kind="order_disorder", tolerance="40"), "line 2, column expected_above"),
        (row(kind="order_disorder", above="B2", tolerance="40"), "line 2, column expected: 'B2': a order_disorder"),
        (row(kind="order_disorder", above="BCC"), "line 2, column tolerance_K: '': a order_disorder fact needs"),
        (row(above="BCC"), "line 2, column expected_above: 'BCC': only"),
        (row(kind="two_phase_a2_b2", expected="B2+FCC"), "line 2, column expected: 'B2\\+FCC': a two_phase_a2_b2"),
        (
            row(kind="congruent_melting", above="B2+LIQUID", tolerance="50"),
            "column expected: 'B2': a congruent_melting",
        ),
        (row(expected="BCC+B2"), "line 2, column expected"),  # not sorted
    ],
)
def test_a_bad_fact_names_its_file_line_column_and_value(tmp_path, line, culprit):
    path = write_facts(tmp_path, line)
    with pytest.raises(FactsError, match=culprit) as info:
        load_facts(path)
    assert str(path) in str(info.value)


def test_a_short_row_and_an_old_header_are_errors(tmp_path):
    with pytest.raises(FactsError, match="line 2: expected 11 fields"):
        load_facts(write_facts(tmp_path, "a,b2_compound,Al-Ni,Al50Ni50,1273,B2,,"))
    old = tmp_path / "old.csv"
    old.write_text("fact_id,kind,elements,composition,temperature_K,expected,tolerance_K,source\n")
    with pytest.raises(FactsError, match="header must be"):
        load_facts(old)


def test_multicomponent_and_transition_facts_load(tmp_path):
    facts = load_facts(
        write_facts(
            tmp_path,
            row("fbb8", "phase_present", "Al-Cr-Fe-Ni", "Al13Cr10Fe68Ni9", "973", "B2+BCC", role="calibration"),
            row("feco", "order_disorder", "Co-Fe", "Co50Fe50", "1003", "B2", "BCC", "40", status="confirmed"),
        )
    ).set_index("fact_id")
    assert facts.loc["fbb8", "elements"] == "Al-Cr-Fe-Ni"
    assert facts.loc["feco", ["expected_above", "tolerance_K"]].tolist() == ["BCC", 40.0]


def table(temperature: float, *phases: tuple[str, str, float]) -> pd.DataFrame:
    """A hand-made phase table at one temperature: (phase, structure, mole fraction)."""
    return pd.DataFrame(
        [{"phase": p, "structure": s, "mole_fraction": f, "temperature_K": temperature} for p, s, f in phases]
    )


FACT = {"expected_above": "", "tolerance_K": float("nan"), "temperature_K": 1000.0}
STRUCTURES = {"C15_LAVES": "LAVES", "FCC_A1": "FCC", "SIGMA": "SIGMA"}


@pytest.mark.parametrize(
    ("fact", "tables", "agrees", "predicted"),
    [
        # order-disorder: ordered below T - tol, disordered above T + tol
        (
            {"kind": "order_disorder", "expected": "B2", "expected_above": "BCC", "tolerance_K": 40.0},
            {960.0: table(960, ("BCC_B2", "B2", 1.0)), 1040.0: table(1040, ("BCC_B2", "BCC", 1.0))},
            True,
            "B2 / BCC",
        ),
        (  # still ordered above: the transition is too high
            {"kind": "order_disorder", "expected": "B2", "expected_above": "BCC", "tolerance_K": 40.0},
            {960.0: table(960, ("BCC_B2", "B2", 1.0)), 1040.0: table(1040, ("BCC_B2", "B2", 1.0))},
            False,
            "B2 / B2",
        ),
        (
            {"kind": "congruent_melting", "expected": "B2", "expected_above": "LIQUID", "tolerance_K": 40.0},
            {
                960.0: table(960, ("NIAL", "B2", 1.0)),
                1040.0: table(1040, ("LIQUID", "LIQUID", 0.6), ("NIAL", "B2", 0.4)),
            },
            False,
            "B2 / B2+LIQUID",
        ),
        # no liquid: any solid set passes, a little liquid above min_phase_fraction fails, a trace does not
        ({"kind": "no_liquid", "expected": "LIQUID"}, {1000.0: table(1000, ("FCC_A1", "OTHER", 1.0))}, True, "FCC"),
        (
            {"kind": "no_liquid", "expected": "LIQUID"},
            {1000.0: table(1000, ("FCC_A1", "OTHER", 0.9), ("LIQUID", "LIQUID", 0.1))},
            False,
            "FCC+LIQUID",
        ),
        (
            {"kind": "no_liquid", "expected": "LIQUID"},
            {1000.0: table(1000, ("FCC_A1", "OTHER", 0.99), ("LIQUID", "LIQUID", 0.01))},
            True,
            "FCC",
        ),
        # present: other phases allowed
        (
            {"kind": "phase_present", "expected": "B2+BCC"},
            {1000.0: table(1000, ("BCC_B2", "B2", 0.2), ("BCC_B2#2", "BCC", 0.7), ("SIGMA", "OTHER", 0.1))},
            True,
            "B2+BCC+SIGMA",
        ),
        (
            {"kind": "two_phase_a2_b2", "expected": "B2+BCC"},
            {1000.0: table(1000, ("BCC_B2", "B2", 0.2), ("BCC_B2#2", "BCC", 0.7), ("SIGMA", "OTHER", 0.1))},
            False,
            "B2+BCC+SIGMA",
        ),
        # Laves: a fact naming LAVES needs a Laves phase; BCC where the Laves should be fails
        (
            {"kind": "laves_competition", "expected": "LAVES"},
            {1000.0: table(1000, ("C15_LAVES", "OTHER", 1.0))},
            True,
            "C15_LAVES",
        ),
        (
            {"kind": "laves_competition", "expected": "LAVES"},
            {1000.0: table(1000, ("BCC_A2", "BCC", 1.0))},
            False,
            "BCC",
        ),
        # ... and a fact that names no finer class sees a Laves phase as OTHER
        (
            {"kind": "intermetallic", "expected": "OTHER"},
            {1000.0: table(1000, ("C15_LAVES", "OTHER", 1.0))},
            True,
            "C15_LAVES",
        ),
        ({"kind": "phase_set", "expected": "SIGMA"}, {1000.0: table(1000, ("SIGMA", "OTHER", 1.0))}, True, "SIGMA"),
    ],
)
def test_judge_each_kind(fact, tables, agrees, predicted):
    fact = {**FACT, **fact}
    if fact["kind"] in report_card.TRANSITION_KINDS:
        fact["temperature_K"] = 1000.0
    assert judge(fact, tables, STRUCTURES, 0.02) == (agrees, predicted)


def test_a_repeated_fact_id_names_both_lines(tmp_path):
    line = row(kind="pure_structure", elements="Ni", composition="Ni100", expected="FCC")
    with pytest.raises(FactsError, match="repeats \\(first on line 2\\)"):
        load_facts(write_facts(tmp_path, line, line))


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
            "nial-b2,b2_compound,Al-Ni,Al50Ni50,1273.15,B2,,,detection,unconfirmed,X:Al-Ni",
            "nial-wrong,fcc_solid_solution,Al-Ni,Al50Ni50,1273.15,FCC,,,calibration,unconfirmed,X:Al-Ni",
            "nial-doubt,fcc_solid_solution,Al-Ni,Al50Ni50,1273.15,FCC,,,detection,doubtful,X:Al-Ni",
            "nial-melts,congruent_melting,Al-Ni,Al50Ni50,1911,B2,LIQUID,60,calibration,confirmed,X:Al-Ni",
            "ni-fcc,pure_structure,Ni,Ni100,1273.15,FCC,,,calibration,unconfirmed,X:Ni",
            "ni-melt,melting_point,Ni,Ni100,1728,LIQUID,,20,calibration,unconfirmed,X:Ni",
            "ni-melt-wrong,melting_point,Ni,Ni100,1600,LIQUID,,20,detection,unconfirmed,X:Ni",
            "alfe-b2,b2_compound,Al-Fe,Al40Fe60,1073.15,B2,,,detection,unconfirmed,X:Al-Fe",
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

    assert card.loc["nial-melts", ["agrees", "predicted"]].tolist() == [True, "B2 / LIQUID"]
    assert card.loc["nial-doubt", "agrees"] == False  # noqa: E712 (evaluated, never counted)

    html = card_html(card.reset_index())
    assert "<td>nial</td>" in html and "<td>0.750</td>" in html  # 3 of the 4 calibration facts agree
    assert "not computable" in html and "detection fact ni-melt-wrong fails" in html

    verdicts = subsystem_verdicts(card.reset_index()).set_index("subsystem")
    assert list(verdicts.columns) == SUBSYSTEM_VERDICT_SCHEMA.names[:1] + SUBSYSTEM_VERDICT_SCHEMA.names[2:]
    assert verdicts.loc["Ni", "verdict"] == "untrusted"
    assert list(verdicts.loc["Ni", "failed_detection"]) == ["ni-melt-wrong"]
    assert "Ni100 at 1600 K" in verdicts.loc["Ni", "reason"]
    # a failed calibration fact does not untrust; the doubtful fact is left out of the counts
    assert verdicts.loc["Al-Ni", ["verdict", "n_facts", "n_doubtful"]].tolist() == ["trusted", 3, 1]
    assert list(verdicts.loc["Al-Ni", "failed_calibration"]) == ["nial-wrong"]
    assert verdicts.loc["Al-Fe", "verdict"] == "untested"
    rates = database_summary(card.reset_index()).set_index("database")
    assert list(rates.reset_index().columns) == DATABASE_SUMMARY_SCHEMA.names
    assert rates.loc["nial", ["n_calibration", "n_calibration_agree"]].tolist() == [4, 3]
    # on its trusted subsystem Al-Ni: nial-wrong fails, nial-melts holds
    assert rates.loc["nial", ["n_calibration_trusted", "n_calibration_trusted_agree"]].tolist() == [2, 1]
    assert rates.loc["nial", ["n_detection", "n_detection_failed"]].tolist() == [2, 1]
    assert list(rates.loc["nial", "untrusted_subsystems"]) == ["Ni"]
    assert list(rates.index) == ["nial", "best_of"]

    summary = pair_summary(card.reset_index())
    assert list(summary.columns) == PAIR_SUMMARY_SCHEMA.names
    rows = summary.set_index(["element_a", "element_b"])
    assert rows.loc[("Al", "Ni"), ["n_facts", "n_agree"]].tolist() == [3, 2]  # the doubtful fact left out
    assert rows.loc[("Al", "Ni"), "agreement"] == 2 / 3
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
    lenient = pair_trust(pair_summary(card.reset_index(), min_agreement=0.6))
    assert lenient[("nial", "Al", "Ni")] is True
    assert lenient[("nial", "Al", "Fe")] is False  # no computable fact: never trusted
    # Ni: 2 of 3 facts agree (0.67 >= 0.6), but the failed one is a detection fact
    assert lenient[("nial", "Ni", "Ni")] is False


def test_pair_trust_needs_every_key_column():
    with pytest.raises(ValueError, match="trusted"):
        pair_trust(pd.DataFrame({"database": ["a"], "element_a": ["Al"], "element_b": ["Ni"]}))


class CountingBackend:
    """A stand-in backend: every phase is ordered B2; counts solves; can fail on one composition."""

    def __init__(self, tdb: Path, fail_on: str | None = None):
        self.specs = {"fake": DatabaseSettings("fake", str(tdb), {"BCC_B2": "bcc_like"})}
        self.settings = ("pdens", 20)
        self.solved: list[str] = []
        self.fail_on = fail_on

    def database(self, name):
        return SimpleNamespace(elements={"AL", "NI", "VA"})

    def phase_table(self, fractions, temperatures, database):
        key = "-".join(sorted(fractions))
        if key == self.fail_on:
            raise KeyboardInterrupt  # the run is stopped here
        self.solved.append(key)
        return pd.DataFrame(
            [{"phase": "BCC_B2", "structure": "B2", "mole_fraction": 1.0, "temperature_K": t} for t in temperatures]
        )


def test_sharded_card_resumes_and_re_solves_only_what_changed(tmp_path):
    tdb = tmp_path / "fake.tdb"
    tdb.write_text("$ a database\n")
    shards = tmp_path / "shards"
    lines = [
        row("nial", composition="Al50Ni50"),
        row("nial-hot", composition="Al50Ni50", temperature="1473"),
        row("ni", kind="pure_structure", elements="Ni", composition="Ni100", expected="FCC"),
        row("alfe", elements="Al-Fe", composition="Al40Fe60"),
    ]
    facts = load_facts(write_facts(tmp_path, *lines))

    stopped = CountingBackend(tdb, fail_on="Ni")
    with pytest.raises(KeyboardInterrupt):
        evaluate_sharded(facts, stopped, None, shards)
    assert stopped.solved == ["Al-Ni"]  # Al-Fe (not computable) and Al-Ni were finished and kept

    resumed = CountingBackend(tdb)
    card = evaluate_sharded(facts, resumed, None, shards)
    assert resumed.solved == ["Ni"]
    assert card.set_index("fact_id").loc[["nial", "ni"], "agrees"].tolist() == [True, False]
    assert pd.isna(card.set_index("fact_id").loc["alfe", "agrees"])

    again = CountingBackend(tdb)
    pd.testing.assert_frame_equal(evaluate_sharded(facts, again, None, shards), card)
    assert again.solved == []

    changed = load_facts(
        write_facts(tmp_path, *lines[:1], row("nial-hot", composition="Al50Ni50", temperature="1500"), *lines[2:])
    )
    edited = CountingBackend(tdb)
    evaluate_sharded(changed, edited, None, shards)
    assert edited.solved == ["Al-Ni"]  # a changed fact re-solves its own shard only

    relabelled = load_facts(write_facts(tmp_path, *lines[:2], row("ni", kind="pure_structure", elements="Ni",
                            composition="Ni100", expected="FCC", role="calibration", status="confirmed", source="Y:Ni"), lines[3]))  # fmt: skip
    kept = CountingBackend(tdb)
    card = evaluate_sharded(relabelled, kept, None, shards).set_index("fact_id")
    assert kept.solved == []  # a new role, status or source re-solves nothing ...
    assert card.loc["ni", ["role", "fact_status", "source"]].tolist() == [
        "calibration",
        "confirmed",
        "Y:Ni",
    ]  # ... but shows

    other_settings = CountingBackend(tdb)
    evaluate_sharded(facts, other_settings, ReportCardSettings(min_phase_fraction=0.05), shards)
    assert other_settings.solved == ["Al-Ni", "Ni"]

    tdb.write_text("$ a corrected database\n")
    new_file = CountingBackend(tdb)
    evaluate_sharded(facts, new_file, None, shards)
    assert new_file.solved == ["Al-Ni", "Ni"]
