"""The one lattice-parameter model of BCC-type sets, against measurements and itself."""

import numpy as np
import pytest

from alloypref.calphad.lattice import disordered_lattice_parameter, lattice_parameter
from alloypref.calphad.ordering import has_b2_sublattices, order_parameter
from alloypref.calphad.phase_rows import phase_rows
from alloypref.calphad.tables import Structure

# Room-temperature BCC lattice constants (Å), typed in from the literature here, not read from the
# package's data files (which hold molar volumes): Kittel, Introduction to Solid State Physics, 8th
# ed., Table 1.3; W. B. Pearson, Handbook of Lattice Spacings and Structures of Metals (1958).
MEASURED_BCC = {"Cr": 2.884, "Fe": 2.8665, "Mo": 3.147, "Nb": 3.3004, "Ta": 3.3013, "V": 3.024, "W": 3.1652}

# Stoichiometric B2 compounds (A on one sublattice, B on the other), room temperature (Å); Villars &
# Calvert, Pearson's Handbook of Crystallographic Data for Intermetallic Phases (1991).
MEASURED_B2 = {
    ("Ni", "Al"): 2.887,
    ("Co", "Al"): 2.862,
    ("Fe", "Al"): 2.909,
    ("Ni", "Ti"): 3.015,
    ("Fe", "Ti"): 2.976,
    ("Co", "Ti"): 2.986,
}

PAIRS = [("Ni", "Al"), ("Fe", "Al"), ("Co", "Al"), ("Ni", "Ti"), ("Fe", "Ti"), ("Nb", "Mo"), ("Cr", "Fe")]


@pytest.mark.parametrize("element", sorted(MEASURED_BCC))
def test_pure_bcc_elements_within_one_percent(element):
    assert lattice_parameter({element: 1.0}, {element: 1.0}) == pytest.approx(MEASURED_BCC[element], rel=0.01)


@pytest.mark.parametrize("pair", sorted(MEASURED_B2))
def test_fully_ordered_b2_compounds_within_one_percent_either_way_round(pair):
    a, b = pair
    assert lattice_parameter({a: 1.0}, {b: 1.0}) == pytest.approx(MEASURED_B2[pair], rel=0.01)
    assert lattice_parameter({b: 1.0}, {a: 1.0}) == pytest.approx(MEASURED_B2[pair], rel=0.01)


def test_hand_computed_value():
    """Fe75Al25 disordered: a_Fe = (2*7.09e-6/N_A)^(1/3) = 2.86620 Å, a_Al (10.00 cm3/mol) = 3.21470 Å,
    Vegard 2.95332 Å, d_FeAl = 2.909 - 3.04045 = -0.13145 Å, excess 2*0.75*0.25*d = -0.04929 Å."""
    assert disordered_lattice_parameter({"Fe": 0.75, "Al": 0.25}) == pytest.approx(2.90403, abs=2e-4)


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("x", [0.1, 0.3, 0.5])
def test_zero_order_b2_equals_the_disordered_set(pair, x):
    a, b = pair
    fractions = {a: 1 - x, b: x}
    assert lattice_parameter(fractions, dict(fractions)) == pytest.approx(
        disordered_lattice_parameter(fractions), abs=1e-12
    )


@pytest.mark.parametrize("pair", PAIRS)
def test_continuous_in_the_order_parameter(pair):
    """Along A50B50 from disorder (eta = 0) to full order (eta = 1) the value moves smoothly."""
    a, b = pair
    etas = np.linspace(0, 1, 201)
    values = np.array(
        [lattice_parameter({a: (1 + e) / 2, b: (1 - e) / 2}, {a: (1 - e) / 2, b: (1 + e) / 2}) for e in etas]
    )
    assert np.abs(np.diff(values)).max() < 1e-3  # no jump anywhere, the 0.05 threshold included
    assert values[0] == pytest.approx(disordered_lattice_parameter({a: 0.5, b: 0.5}))


def test_ni_excess_shrinks_b2_nial_as_measured():
    """Ni-rich B2 NiAl (Ni antisites on the Al sublattice) has a smaller cell than NiAl (Taylor &
    Doyle, J. Appl. Cryst. 5 (1972) 201: ~2.866 Å at Ni60Al40); a constant for the compound would not."""
    stoichiometric = lattice_parameter({"Ni": 1.0}, {"Al": 1.0})
    ni_rich = lattice_parameter({"Ni": 1.0}, {"Al": 0.8, "Ni": 0.2})
    assert ni_rich < stoichiometric - 0.01
    assert ni_rich == pytest.approx(2.866, rel=0.005)


def test_order_parameter_ignores_which_sublattice_holds_an_element():
    assert order_parameter({"AL": 0.9, "NI": 0.1}, {"AL": 0.1, "NI": 0.9}) == pytest.approx(0.8)
    assert order_parameter({"NI": 0.9, "AL": 0.1}, {"AL": 0.9, "NI": 0.1}) == pytest.approx(0.8)
    assert order_parameter({"FE": 1.0}, {"AL": 1.0}) == pytest.approx(1.0)
    assert has_b2_sublattices((0.5, 0.5, 3.0)) and not has_b2_sublattices((1.0, 3.0))


def test_a_vacancy_only_sublattice_of_equal_size_is_not_a_b2_description():
    """``(Nb,Ti)1(VA)1`` has two equal sublattices but nothing to order: read as B2 it would get
    order parameter 1 (Nb on one sublattice, VA on the other) and count as ordered."""
    from pycalphad import variables as v

    bcc_with_interstitials = [{v.Species("NB"), v.Species("TI")}, {v.Species("VA")}]
    assert not has_b2_sublattices((1.0, 1.0), bcc_with_interstitials)
    assert not has_b2_sublattices((1.0, 1.0), [{"NB", "TI"}, {"VA", "/-"}])
    b2 = [{v.Species("AL"), v.Species("NI"), v.Species("VA")}] * 2 + [{v.Species("VA")}]
    assert has_b2_sublattices((0.5, 0.5, 3.0), b2)
    assert has_b2_sublattices((0.5, 0.5), [{"Al"}, {"Ni"}])
    assert not has_b2_sublattices((0.5, 0.5), [{"AL", "NI"}])  # one sublattice listed for two sizes


def test_backend_rows_are_continuous_through_the_order_threshold(reference_backend):
    """The phase-table rows of one BCC_B2 set just below and just above the 0.05 threshold: the
    structure flips, the lattice parameter does not jump."""
    system = reference_backend.system("nial", ["Al", "Ni"])
    layout = system.site_fraction_layout["BCC_B2"]
    assert layout[:2] == [["AL", "NI", "VA"], ["AL", "NI", "VA"]]

    def row(eta):
        y = np.array([0.6 + eta / 2, 0.4 - eta / 2, 0.0, 0.6 - eta / 2, 0.4 + eta / 2, 0.0, 1.0])
        rows = phase_rows(
            system,
            reference_backend.specs["nial"],
            reference_backend.settings.order_threshold,
            1000.0,
            np.array(["BCC_B2"]),
            np.array([1.0]),
            y[None, :],
            np.array([[0.6, 0.4]]),
            ["AL", "NI"],
        )
        return rows[0]

    below, above, zero = row(0.049), row(0.051), row(0.0)
    assert below["structure"] == Structure.BCC and above["structure"] == Structure.B2
    assert abs(above["lattice_parameter_A"] - below["lattice_parameter_A"]) < 1e-3
    assert zero["lattice_parameter_A"] == pytest.approx(disordered_lattice_parameter({"Al": 0.6, "Ni": 0.4}), abs=1e-12)
