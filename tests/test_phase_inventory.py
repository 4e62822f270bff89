"""Phase inventories: which known competing phases a database models, on hand-made databases and
inventories, on the shipped mc_ni and COST507, and the errors for bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from alloypref.calphad.databases import DatabaseError, DatabaseSettings, database_elements, load_database
from alloypref.calphad.phase_inventory import (
    INVENTORY_COLUMNS,
    INVENTORY_ELEMENTS,
    INVENTORY_STATUS_SCHEMA,
    PHASE_CHECK_SCHEMA,
    DatabasePhaseKind,
    PhaseInventoryError,
    PhaseKind,
    check_database,
    inventory_html,
    inventory_status,
    inventory_tables,
    load_inventory,
    load_kind_map,
    missing_near,
    phase_kinds,
)

ROLES = {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like", "LIQUID": "liquid"}

TOY_HEADER = """
ELEMENT VA VACUUM 0 0 0 !
ELEMENT AL FCC_A1 26.98 0 0 !
ELEMENT CR BCC_A2 52.0 0 0 !
ELEMENT HF HCP_A3 178.49 0 0 !
ELEMENT NI FCC_A1 58.69 0 0 !
TYPE_DEFINITION % SEQ * !
PHASE LIQUID % 1 1.0 !
CONSTITUENT LIQUID :AL,CR,HF,NI: !
PHASE BCC_A2 % 2 1 3 !
CONSTITUENT BCC_A2 :AL,CR,HF,NI:VA: !
PHASE BCC_B2 % 3 0.5 0.5 3 !
CONSTITUENT BCC_B2 :AL,NI:AL,NI:VA: !
PHASE NI5HF % 2 5 1 !
CONSTITUENT NI5HF :NI:HF: !
PARAMETER G(BCC_A2,AL:VA;0) 298.15 0; 6000 N !
PARAMETER G(BCC_A2,CR:VA;0) 298.15 0; 6000 N !
PARAMETER L(BCC_A2,CR,HF:VA;0) 298.15 10000; 6000 N !
PARAMETER L(BCC_A2,AL,NI:VA;0) 298.15 -50000; 6000 N !
PARAMETER L(BCC_B2,AL,NI:AL,NI:VA;0) 298.15 -1000; 6000 N !
PARAMETER G(NI5HF,NI:HF;0) 298.15 -40000; 6000 N !
"""
LAVES_WITH_HF = "PHASE LAVES_C15 % 2 2 1 !\nCONSTITUENT LAVES_C15 :CR,HF:CR,HF: !\n"
LAVES_PARAMETER = "PARAMETER G(LAVES_C15,CR:HF;0) 298.15 -30000; 6000 N !\n"
ORDERING_PARAMETER = "PARAMETER G(BCC_B2,AL:NI:VA;0) 298.15 -20000; 6000 N !\n"

TOY_KINDS = {
    "LIQUID": PhaseKind.LIQUID,
    "BCC_A2": PhaseKind.BCC,
    "BCC_B2": PhaseKind.B2,
    "NI5HF": PhaseKind.INTERMETALLIC,
    "LAVES_C15": PhaseKind.LAVES_C15,
}

INVENTORY_ROWS = [
    "Cr-Hf,laves_c15,Cr2Hf,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,",
    "Al-Ni,b2,AlNi,CsCl,0.42,0.69,298,1911,Massalski1990:Al-Ni,unconfirmed,",
    "Hf-Ni,intermetallic,HfNi5,AuBe5,0.833,0.833,298,1513,Massalski1990:Hf-Ni,unconfirmed,",
    "Hf-Ni,intermetallic,HfNi3,HfNi3,0.75,0.75,298,1653,Massalski1990:Hf-Ni,unconfirmed,",
    "Cr-Ni,none,,,,,,,Massalski1990:Cr-Ni,unconfirmed,",
    "Al-Hf-Ni,l2_1,Ni2AlHf,Cu2MnAl,,,298,1773,Raghavan:Al-Hf-Ni,unconfirmed,",
]


def write_inventory(tmp_path: Path, rows: list[str], name: str = "inventory.csv") -> Path:
    path = tmp_path / name
    path.write_text(",".join(INVENTORY_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return path


def toy_database(tmp_path: Path, *, laves: str = LAVES_WITH_HF + LAVES_PARAMETER, ordering: str = ORDERING_PARAMETER):
    path = tmp_path / "toy.tdb"
    path.write_text(TOY_HEADER + laves + ordering)
    spec = DatabaseSettings("toy", str(path), ROLES)
    return spec, load_database(spec)


def toy_kind_map(**overrides) -> dict:
    kinds = {name: DatabasePhaseKind(kind) for name, kind in TOY_KINDS.items()}
    kinds.update(overrides)
    return {"toy.tdb": kinds}


def checks_for(tmp_path, **database_parts) -> pd.DataFrame:
    spec, dbf = toy_database(tmp_path, **database_parts)
    return check_database(dbf, spec, load_inventory(write_inventory(tmp_path, INVENTORY_ROWS)), toy_kind_map())


def row(checks: pd.DataFrame, phase: str) -> pd.Series:
    (index,) = checks.index[checks["phase"] == phase]
    return checks.loc[index]


def test_laves_modelled_only_when_the_pair_has_parameters(tmp_path):
    modelled = row(checks_for(tmp_path), "Cr2Hf")
    assert modelled["modelled"] and modelled["database_phases"] == "LAVES_C15"
    bare = row(checks_for(tmp_path, laves=LAVES_WITH_HF), "Cr2Hf")
    assert (bare["phase_exists"], bare["has_constituents"], bare["has_parameters"], bare["modelled"]) == (
        True,
        True,
        False,
        False,
    )


def test_laves_without_the_element_among_its_constituents_is_missing(tmp_path):
    laves_without_hf = "PHASE LAVES_C15 % 2 2 1 !\nCONSTITUENT LAVES_C15 :CR,NI:CR,NI: !\n"
    checked = row(checks_for(tmp_path, laves=laves_without_hf), "Cr2Hf")
    assert checked["phase_exists"] and not checked["has_constituents"] and not checked["modelled"]


def test_b2_needs_an_ordering_parameter(tmp_path):
    assert row(checks_for(tmp_path), "AlNi")["modelled"]
    disordered_only = row(checks_for(tmp_path, ordering=""), "AlNi")
    # L(BCC_B2,AL,NI:AL,NI:VA) involves both elements but orders nothing
    assert disordered_only["has_parameters"] and not disordered_only["modelled"]


def test_intermetallic_is_matched_by_its_composition(tmp_path):
    checks = checks_for(tmp_path)
    assert row(checks, "HfNi5")["database_phases"] == "NI5HF"
    assert not row(checks, "HfNi3")["modelled"]  # Ni5Hf (x_Ni 0.833) is not Ni3Hf (0.75)


def test_status_per_system(tmp_path):
    spec, dbf = toy_database(tmp_path, laves=LAVES_WITH_HF)
    inventory = load_inventory(write_inventory(tmp_path, INVENTORY_ROWS))
    checks = check_database(dbf, spec, inventory, toy_kind_map())
    status = inventory_status(checks, inventory, "toy", database_elements(dbf)).set_index("system")
    assert status.loc["Cr-Hf", "status"] == "missing" and status.loc["Cr-Hf", "missing"] == "laves_c15 Cr2Hf"
    assert status.loc["Al-Ni", "status"] == "modelled"
    assert status.loc["Hf-Ni", ["status", "n_phases", "n_modelled"]].tolist() == ["missing", 2, 1]
    assert status.loc["Cr-Ni", "status"] == "none_known"
    assert status.loc["Al-Cr", "status"] == "not_listed"
    assert status.loc["Co-Cr", "status"] == "elements_absent"
    assert status.loc["Al-Hf-Ni", "status"] == "missing"  # no L2_1 phase at all
    assert set(status.index) == {"-".join(p) for p in itertools.combinations(sorted(INVENTORY_ELEMENTS), 2)} | {
        "Al-Hf-Ni"
    }


def test_missing_near_follows_composition_temperature_and_fraction(tmp_path):
    checks = checks_for(tmp_path, laves=LAVES_WITH_HF)
    near = missing_near(checks, "toy", {"Cr": 0.95, "Hf": 0.05}, [1273.15])
    assert near["phase"].tolist() == ["Cr2Hf"] and near["distance"].iloc[0] == pytest.approx(0.28)
    assert missing_near(checks, "toy", {"Cr": 0.99, "Hf": 0.01}, [1273.15]).empty  # 0.32 > 0.3
    assert missing_near(checks, "toy", {"Cr": 0.95, "Hf": 0.05}, [1273.15], near=0.2).empty
    assert missing_near(checks, "toy", {"Cr": 0.95, "Hf": 0.05}, [2200.0]).empty  # above the Laves melting
    assert missing_near(checks, "toy", {"Cr": 0.95, "Hf": 0.05}, [1273.15], min_fraction=0.06).empty
    # a quaternary candidate: the Cr-Hf projection is 0.2 / 0.6 = 0.33, inside the Laves range
    quaternary = missing_near(checks, "toy", {"Cr": 0.4, "Hf": 0.2, "Mo": 0.2, "W": 0.2}, [1273.15])
    assert quaternary["distance"].tolist() == [0.0]
    assert missing_near(checks_for(tmp_path), "toy", {"Cr": 0.95, "Hf": 0.05}, [1273.15]).empty


def test_missing_near_ternary_uses_the_formula_point(tmp_path):
    checks = checks_for(tmp_path)
    near = missing_near(checks, "toy", {"Al": 0.4, "Hf": 0.1, "Ni": 0.5}, [1273.15]).set_index("phase")
    # Hf-Ni projects to x_Ni = 0.5 / 0.6 = 0.833: 0.083 from Ni3Hf; the Heusler point Al25Hf25Ni50 is 0.15 away
    assert near["distance"].to_dict() == pytest.approx({"HfNi3": 0.5 / 0.6 - 0.75, "Ni2AlHf": 0.15})
    closer = missing_near(checks, "toy", {"Al": 0.4, "Hf": 0.1, "Ni": 0.5}, [1273.15], near=0.1)
    assert closer["phase"].tolist() == ["HfNi3"]


def test_tables_follow_their_schemas_and_render(tmp_path):
    spec, dbf = toy_database(tmp_path)
    checks, status = inventory_tables(
        [(spec, dbf)], load_inventory(write_inventory(tmp_path, INVENTORY_ROWS)), toy_kind_map()
    )
    assert list(checks.columns) == PHASE_CHECK_SCHEMA.names
    assert list(status.columns) == INVENTORY_STATUS_SCHEMA.names
    html = inventory_html(status, checks)
    assert "Cr-Hf" in html and "none_known" in html


@pytest.mark.parametrize(
    ("bad_row", "culprit"),
    [
        ("Cr-Xx,laves_c15,Cr2Xx,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Xx,unconfirmed,", "'Cr-Xx'"),
        ("Cr-Hf,laves_c99,Cr2Hf,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,", "'laves_c99'"),
        ("Cr-Hf,bcc,Cr2Hf,W,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,", "'bcc'"),
        ("Hf-Cr,laves_c15,Cr2Hf,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,", "'Hf-Cr'"),
        ("Cr-Hf,laves_c15,Cr2Ni,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,", "'Cr2Ni'"),
        ("Cr-Hf,laves_c15,Cr2Hf,MgCu2,0.35,0.33,298,2098,Massalski1990:Cr-Hf,unconfirmed,", "x_max"),
        ("Cr-Hf,laves_c15,Cr2Hf,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,maybe,", "'maybe'"),
        ("Cr-Hf,laves_c15,Cr2Hf,MgCu2,0.33,0.35,298,2098,Massalski1990:Cr-Hf,unconfirmed,a,b", "fields expected"),
    ],
)
def test_bad_inventory_row_names_file_line_and_value(tmp_path, bad_row, culprit):
    path = write_inventory(tmp_path, [INVENTORY_ROWS[1], bad_row])
    with pytest.raises(PhaseInventoryError) as error:
        load_inventory(path)
    assert str(path) in str(error.value) and "line 3" in str(error.value) and culprit in str(error.value)


def test_none_row_beside_a_phase_row_is_an_error(tmp_path):
    path = write_inventory(tmp_path, [INVENTORY_ROWS[0], "Cr-Hf,none,,,,,,,Massalski1990:Cr-Hf,unconfirmed,"])
    with pytest.raises(PhaseInventoryError, match=r"lines \[2, 3\]: system 'Cr-Hf'"):
        load_inventory(path)


def test_bad_kind_map_row_names_file_line_and_value(tmp_path):
    path = tmp_path / "kinds.csv"
    path.write_text("tdb,phase,kind,formula,note\ntoy.tdb,LAVES_C15,laves,,\n")
    with pytest.raises(PhaseInventoryError, match=r"kinds.csv, line 2, column kind: 'laves'"):
        load_kind_map(path)


def test_database_with_an_unmapped_phase_is_an_error_naming_file_and_phase(tmp_path):
    spec, dbf = toy_database(tmp_path)
    kinds = toy_kind_map()
    del kinds["toy.tdb"]["LAVES_C15"]
    with pytest.raises(DatabaseError, match=r"toy.tdb.*no kind.*\['LAVES_C15'\]"):
        phase_kinds(dbf, spec, kinds)
    with pytest.raises(DatabaseError, match=r"no phase kinds for 'toy.tdb'"):
        phase_kinds(dbf, spec, {"other.tdb": {}})
    with pytest.raises(DatabaseError, match=r"names phases it lacks: \['SIGMA'\]"):
        phase_kinds(dbf, spec, toy_kind_map(SIGMA=DatabasePhaseKind(PhaseKind.SIGMA)))


def test_kind_contradicting_the_configured_role_is_an_error(tmp_path):
    spec, dbf = toy_database(tmp_path)
    with pytest.raises(DatabaseError, match=r"'BCC_B2' has role 'bcc_like' but kind 'sigma'"):
        phase_kinds(dbf, spec, toy_kind_map(BCC_B2=DatabasePhaseKind(PhaseKind.SIGMA)))


def test_shipped_inventory_lists_every_pair_but_four():
    inventory = load_inventory()
    pairs = {"-".join(p) for p in itertools.combinations(sorted(INVENTORY_ELEMENTS), 2)}
    assert pairs - set(inventory["system"]) == {"Mn-Mo", "Mn-Ru", "Mn-W", "Ru-W"}
    assert inventory["confirmed"].sum() >= 90


@pytest.fixture(scope="module")
def shipped_checks(default_settings):
    databases = [(spec, load_database(spec, default_settings.cache_dir)) for spec in default_settings.databases]
    return inventory_tables(databases)


def test_mc_ni_lacks_the_hfcr2_laves_phase_and_models_nial(shipped_checks):
    checks, status = shipped_checks
    mc_ni = checks[checks["database"] == "mc_ni"]
    laves = mc_ni[(mc_ni["system"] == "Cr-Hf")]
    assert set(laves["phase_kind"]) == {"laves_c14", "laves_c15"} and not laves["modelled"].any()
    nial = mc_ni[mc_ni["system"] == "Al-Ni"].set_index("phase")
    assert nial.loc["AlNi", "modelled"] and "NIAL" in nial.loc["AlNi", "database_phases"].split("+")
    assert nial.loc["AlNi3", "database_phases"] == "GAMMA_PRIME"
    assert missing_near(checks, "mc_ni", {"Al": 0.5, "Ni": 0.5}, [1273.15], near=0.05).empty
    hfcr2 = missing_near(checks, "mc_ni", {"Cr": 2 / 3, "Hf": 1 / 3}, [1273.15])
    assert hfcr2["phase_kind"].tolist() == ["laves_c15"]  # the C14 form is stable only above ~1773 K
    cost = status[status["database"] == "cost507"].set_index("system")
    assert cost.loc["Fe-Ti", "status"] == "modelled" and "FETI" in cost.loc["Fe-Ti", "modelled_by"]
    assert cost.loc["Co-Cr", "status"] == "elements_absent"  # COST507 has no Co
