"""Physics of the pycalphad backend on the reference databases and the shipped open ones."""

import itertools

import numpy as np
import pandas as pd
import pytest
from pycalphad.core.utils import filter_phases, unpack_species

from alloypref.calphad import canonical_build, compiled_system
from alloypref.calphad.backend import DEFAULT_TEMPERATURES_K
from alloypref.calphad.databases import DatabaseSettings, apply_bcc_fix, load_database
from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
from alloypref.calphad.phase_records import compile_function, compiled_keys
from alloypref.calphad.tables import Structure
from alloypref.calphad.trust import TrustEvidence
from alloypref.composition import master_from_text, parse_formula
from alloypref.reward import compute_reward

from .helpers import NIAL, pycalphad_backend


def present(table, temperature, structure):
    rows = table[(np.isclose(table.temperature_K, temperature)) & (table.structure == structure)]
    return rows[rows.mole_fraction >= 0.01]


def test_default_grid_is_the_authors_24_temperatures():
    assert len(DEFAULT_TEMPERATURES_K) == 24
    assert DEFAULT_TEMPERATURES_K[:6] == (373.15, 773.15, 1073.15, 1173.15, 1273.15, 1373.15)
    assert DEFAULT_TEMPERATURES_K[-1] == pytest.approx(2273.15)
    assert np.allclose(np.diff(DEFAULT_TEMPERATURES_K[5:]), 50.0)


def test_nial_is_ordered_b2_at_373K(reference_backend):
    table = reference_backend.phase_table(parse_formula("Ni50Al50"), [373.15], "nial")
    b2 = present(table, 373.15, Structure.B2)
    assert b2.mole_fraction.sum() > 0.99
    assert b2.order_parameter.iloc[0] > 0.9


def test_ni_rich_nial_has_the_smaller_cell_measured(reference_backend):
    """Solved site fractions carry composition into the lattice parameter: single-phase Ni58Al42 B2
    (1273 K) is ~0.015 Å smaller than NiAl, as measured at room temperature on quenched alloys
    (Taylor & Doyle, J. Appl. Cryst. 5 (1972) 201: 2.887 Å at 50 % Ni, ~2.870 Å at 58 %)."""
    a = {}
    for formula in ("Ni50Al50", "Ni58Al42"):
        table = reference_backend.phase_table(parse_formula(formula), [1273.15], "nial")
        b2 = present(table, 1273.15, Structure.B2)
        assert b2.mole_fraction.sum() > 0.99
        a[formula] = float(b2.lattice_parameter_A.iloc[0])
    assert a["Ni58Al42"] < a["Ni50Al50"] - 0.01
    assert a["Ni50Al50"] == pytest.approx(2.887, rel=0.01)
    assert a["Ni58Al42"] == pytest.approx(2.870, rel=0.01)


def test_fe70al30_orders_at_low_T_and_disorders_below_its_solidus(reference_backend):
    table = reference_backend.phase_table(parse_formula("Fe70Al30"), [373.15, 773.15, 1473.15, 1673.15], "alfe")
    assert present(table, 773.15, Structure.B2).mole_fraction.sum() > 0.99
    high = present(table, 1473.15, Structure.BCC)
    assert high.mole_fraction.sum() > 0.99
    assert high.order_parameter.max() < 0.01
    assert present(table, 1473.15, Structure.LIQUID).empty


@pytest.mark.slow
def test_bcc_fix_restores_bcc_for_a_refractory_system(open_backend):
    """mc_ni declares BCC_B2 with Fe/Ni/Si/Ti only: without the fix Nb-Mo has no BCC phase."""
    spec = open_backend.specs["mc_ni"]
    fixed = open_backend.database("mc_ni")
    assert "BCC_B2" in filter_phases(fixed, unpack_species(fixed, ["NB", "MO", "VA"]))
    from pycalphad import Database

    raw = Database(spec.resolved_path.read_text())
    assert "BCC_B2" not in filter_phases(raw, unpack_species(raw, ["NB", "MO", "VA"]))
    apply_bcc_fix(raw)
    assert "BCC_B2" in filter_phases(raw, unpack_species(raw, ["NB", "MO", "VA"]))
    # and the physics: Nb50Mo50 is one disordered BCC solid solution at 1273 K
    table = open_backend.phase_table(parse_formula("Nb50Mo50"), [1273.15], "mc_ni")
    assert present(table, 1273.15, Structure.BCC).mole_fraction.sum() > 0.99


def test_bcc_fix_leaves_systems_that_had_the_phase_unchanged(open_backend):
    fixed = open_backend.database("mc_ni")
    from pycalphad import Database

    raw = Database(open_backend.specs["mc_ni"].resolved_path.read_text())
    components = ["FE", "NI", "AL", "VA"]
    assert filter_phases(raw, unpack_species(raw, components)) == filter_phases(
        fixed, unpack_species(fixed, components)
    )


@pytest.mark.slow
def test_fine_grid_finds_the_ordering_the_coarse_grid_misses(open_backend, cache_dir):
    """Reproducer from shared/tdb/README.md: Ti33Mo67 + AlVFe @ 64.75 % on mc_ni, 1523-1673 K."""
    master = master_from_text("Ti33Mo67", "AlVFe", 64.75)
    temperatures = [1573.15, 1623.15]
    coarse_only = pycalphad_backend(open_backend.specs.values(), cache_dir, open_backend.b2_formers, pdens_fine=0)
    coarse = coarse_only.phase_table(master, temperatures, "mc_ni")
    assert (coarse.structure == Structure.B2).sum() == 0  # the pitfall: A2 only
    fixed = open_backend.phase_table(master, temperatures, "mc_ni")
    b2 = fixed[fixed.structure == Structure.B2]
    assert len(b2) == 2
    assert b2.order_parameter.to_numpy() == pytest.approx([0.32, 0.32], abs=0.03)


def test_routing_picks_mc_ni_for_a_nickel_aluminide(open_backend):
    database, coverage = open_backend.choose_database(master_from_text("Cr33Fe67", "NiAl", 30))
    assert database == "mc_ni"
    assert 0 < coverage <= 1


def test_routing_picks_cost507_for_an_iron_aluminide(open_backend):
    database, _ = open_backend.choose_database(master_from_text("Cr33Fe67", "MnAl2Fe", 61.65))
    assert database == "cost507"


def test_trust_routing_follows_the_detection_facts_on_the_shipped_databases(open_backend):
    """No evidence: nothing trusted, the coverage choice. A failed Al-Ni detection fact on mc_ni
    moves a nickel aluminide to cost507, trusted."""
    master = master_from_text("Cr33Fe67", "NiAl", 30)
    choices = open_backend.database_choices(master)
    database, coverage = open_backend.choose_database(master)
    assert (choices[0].database, choices[0].coverage) == (database, pytest.approx(coverage))
    assert not any(choice.verdict.trusted for choice in choices)
    # the evidence speaks of both databases (a database it does not speak of is untrusted)
    verdicts = pd.DataFrame(
        {"database": ["mc_ni", "cost507"], "subsystem": ["Al-Ni", "Al-Ni"], "failed_detection": [["det-1"], []]}
    )
    listed = {"-".join(pair) for pair in itertools.combinations(sorted(master), 2)}
    evidence = TrustEvidence(
        pd.DataFrame(columns=PHASE_CHECK_SCHEMA.names), verdicts, DEFAULT_TEMPERATURES_K, listed_systems=listed
    )
    first = open_backend.database_choices(master, evidence)[0]
    assert (first.database, first.verdict.trusted) == ("cost507", True)


def test_fig9_example_on_cost507_matches_thermocalc(open_backend):
    """Thermo-Calc (paper Fig. 9) at 373 K: ordered 0.83 + disordered 0.16; liquid at 2273 K."""
    master = master_from_text("Cr33Fe67", "MnAl2Fe", 61.65)
    table = open_backend.phase_table(master, DEFAULT_TEMPERATURES_K, "cost507")
    assert present(table, 373.15, Structure.B2).mole_fraction.sum() == pytest.approx(0.83, abs=0.05)
    assert present(table, 373.15, Structure.BCC).mole_fraction.sum() == pytest.approx(0.16, abs=0.05)
    assert present(table, 2273.15, Structure.LIQUID).mole_fraction.sum() == pytest.approx(1.0)
    for temperature in (1073.15, 1173.15):  # Thermo-Calc: B2 alone
        assert present(table, temperature, Structure.B2).mole_fraction.sum() > 0.99
    assert compute_reward(table).bcc_b2_exist


def test_phase_roles_come_from_config_not_names(open_backend):
    """COST507's B2TI and B2M are borides (TiB2-type): OTHER although their names start with B2."""
    assert open_backend.specs["cost507"].role("B2TI").value == "other"
    table = open_backend.phase_table({"Ti": 1 / 3, "B": 2 / 3}, [773.15], "cost507")
    boride = table[table.phase.str.startswith("B2")]
    assert not boride.empty
    assert set(boride.structure) == {Structure.OTHER}
    assert not (table.structure == Structure.B2).any()


def test_database_cache_round_trip(tmp_path):
    spec = DatabaseSettings("alfe", str(__import__("pathlib").Path(__file__).parent / "data" / "alfe_sei.TDB"))
    first = load_database(spec, tmp_path)
    assert list((tmp_path / "databases").iterdir())
    second = load_database(spec, tmp_path)
    assert set(first.phases) == set(second.phases)


def test_functions_compiled_while_solving_are_written_to_the_disk_cache(tmp_path, monkeypatch):
    """A function the build did not compile (here: the Hessians, left out on purpose) is compiled
    by the first solve, written back, and a second process loads it instead of compiling it."""
    monkeypatch.setattr(canonical_build, "builds_in_process", lambda: True)  # build here, where the patch applies
    monkeypatch.setattr(compiled_system, "PRECOMPILED_PROPERTIES", compiled_system.PRECOMPILED_PROPERTIES[:3])
    composition, grid = {"Ni": 0.5, "Al": 0.5}, (373.15, 1273.15)
    first = pycalphad_backend([NIAL], tmp_path, pdens_fine=0)
    system = first.system("nial", composition)
    built = compiled_keys(system.phase_records)
    assert not any(key[0] == "property" and key[4] for key in built)  # no Hessian compiled at build
    first.phase_table(composition, grid, "nial")
    written = compiled_keys(system.phase_records) - built
    assert any(key[0] == "property" and key[4] for key in written)  # the solve compiled Hessians

    second = pycalphad_backend([NIAL], tmp_path, pdens_fine=0)
    loaded = second.system("nial", composition)
    assert written <= compiled_keys(loaded.phase_records)  # they came from the disk cache
    before = compiled_keys(loaded.phase_records)
    second.phase_table(composition, grid, "nial")
    assert compiled_keys(loaded.phase_records) == before  # the second process compiled nothing
    assert second.persist_new_callbacks(loaded) == frozenset()


def test_a_function_compiled_outside_the_builder_is_recompiled_there_and_cached(tmp_path, monkeypatch):
    """The write-back goes through the hash-seed-0 builder (a child process here): the disk copy holds
    the canonical function, and this process takes it."""
    backend = pycalphad_backend([NIAL], tmp_path, pdens_fine=0)
    if canonical_build.builds_in_process():
        pytest.skip("this interpreter runs under hash seed 0: the builder is not a child process")
    with monkeypatch.context() as patch:  # the first build in this process (saves a child start)
        patch.setattr(canonical_build, "builds_in_process", lambda: True)
        system = backend.system("nial", {"Ni": 0.5, "Al": 0.5})
    extra = ("property", "LIQUID", "G", True, True)  # gradient and Hessian in one: never precompiled
    assert extra not in compiled_keys(system.phase_records)
    compile_function(system.phase_records, extra)  # as a lazy solve would, under this process's seed
    records_before = system.phase_records
    assert backend.persist_new_callbacks(system) == {extra}
    assert system.phase_records is not records_before  # replaced by the builder's canonical copy
    reloaded = pycalphad_backend([NIAL], tmp_path, pdens_fine=0).system("nial", {"Ni": 1, "Al": 1})
    assert extra in compiled_keys(reloaded.phase_records)
