"""Thermo-Calc backend through tc-python, for users with a licence (the paper's tool).

It produces the same phase table as the pycalphad backend, following the authors' practice: one
single-equilibrium calculation per temperature, lattice parameter from the phase's molar volume as
a = (2 V_m / N_A)^(1/3), ordered when an element's site fractions on the two BCC sublattices differ
by more than the order threshold (:mod:`alloypref.calphad.ordering`). tc-python is proprietary and
not installed in CI, so this module is exercised only where it is importable; its absence is
reported, not crashed on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.lattice import lattice_from_molar_volume
from alloypref.calphad.ordering import DEFAULT_ORDER_THRESHOLD, is_ordered, order_parameter
from alloypref.calphad.tables import Structure, phase_table
from alloypref.calphad.trust import TrustedChoice, TrustEvidence, TrustVerdict

#: TCHEA7's 26 elements (Thermo-Calc documentation, as listed by the paper's authors).
TCHEA7_ELEMENTS = frozenset("Al B C Co Cr Cu Fe Hf Ir Mn Mo N Nb Ni Re Rh Ru Si Sn Ta Ti V W Y Zn Zr".split())


class ThermoCalcUnavailable(RuntimeError):
    """tc-python cannot be imported here."""


def _tc_python():
    try:
        import tc_python  # noqa: PLC0415 - proprietary, optional
    except ImportError as exc:
        raise ThermoCalcUnavailable(
            "calphad.backend is 'thermocalc' but tc-python is not importable here. Install Thermo-Calc "
            "and its tc-python wheel (a licence is required), or set calphad.backend: pycalphad."
        ) from exc
    return tc_python


class ThermoCalcBackend:
    """Phase tables from Thermo-Calc (e.g. TCHEA7). One TCPython session per backend instance."""

    name = "thermocalc"

    def __init__(
        self, database: str = "TCHEA7", order_threshold: float = DEFAULT_ORDER_THRESHOLD, elements: Iterable[str] = ()
    ):
        self.tc = _tc_python()
        self.database_name = database
        self.order_threshold = order_threshold
        self._elements = {e.capitalize() for e in elements}
        self._session = self.tc.TCPython().__enter__()

    def close(self) -> None:
        self._session.__exit__(None, None, None)

    def elements(self) -> set[str]:
        return set(self._elements)

    def choose_database(self, composition: Mapping[str, float] | Iterable[str]) -> tuple[str | None, float]:
        # One commercial database covers the design space; coverage is taken as complete.
        return self.database_name, 1.0

    def database_choices(
        self, composition: Mapping[str, float], trust_evidence: TrustEvidence | None = None
    ) -> list[TrustedChoice]:
        # One database, taken as fully covering. The open databases' evidence says nothing about it:
        # it is trusted only by evidence (phase checks or verdicts) made for this database itself.
        name = self.database_name
        if trust_evidence is None or name not in trust_evidence.databases:
            verdict = TrustVerdict(name, False, (f"no trust evidence (phase inventory, report card) for {name}",))
        else:
            verdict = trust_evidence.judge(composition, name)
        return [TrustedChoice(verdict, 1.0)]

    def phase_table(
        self, composition: Mapping[str, float], temperatures_K: Sequence[float], database: str
    ) -> pd.DataFrame:
        tc = self.tc
        elements = sorted(composition)
        calc = (
            self._session.select_database_and_elements(database, elements)
            .get_system()
            .with_single_equilibrium_calculation()
        )
        for element in elements[1:]:
            calc.set_condition(tc.ThermodynamicQuantity.mole_fraction_of_a_component(element), composition[element])
        rows = []
        for temperature in sorted(temperatures_K):
            calc.set_condition(tc.ThermodynamicQuantity.temperature(), float(temperature))
            try:
                result = calc.calculate()
            except Exception as exc:
                raise CalphadError(f"Thermo-Calc failed at {temperature:.2f} K: {exc}", phase_table(rows)) from exc
            for phase in result.get_stable_phases():
                amount = result.get_value_of(tc.ThermodynamicQuantity.mole_fraction_of_a_phase(phase))
                base = phase.split("#")[0]
                row = {
                    "temperature_K": float(temperature),
                    "phase": phase if "#" in phase else f"{phase}#1",
                    "mole_fraction": float(amount),
                    "is_ordered": False,
                    "order_parameter": float("nan"),
                    "lattice_parameter_A": float("nan"),
                    "status": "ok",
                }
                if base.startswith("LIQUID"):
                    row["structure"] = Structure.LIQUID
                elif base in ("BCC_B2", "BCC_A2"):
                    order = 0.0
                    if base == "BCC_B2":
                        order = order_parameter(
                            {el: result.get_value_of(f"Y({phase},{el}#1)") for el in elements},
                            {el: result.get_value_of(f"Y({phase},{el}#2)") for el in elements},
                        )
                    ordered = is_ordered(order, self.order_threshold)
                    molar_volume = result.get_value_of(f"VM({phase})")  # m^3/mol
                    row.update(
                        structure=Structure.B2 if ordered else Structure.BCC,
                        is_ordered=ordered,
                        order_parameter=order,
                        lattice_parameter_A=lattice_from_molar_volume(molar_volume),
                    )
                else:
                    row["structure"] = Structure.OTHER
                rows.append(row)
        return phase_table(rows)
