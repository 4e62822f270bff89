"""Weakest-link trust: whether a database's phase equilibria for a candidate can be believed, and why not.

A candidate is only as trustworthy as its least trustworthy *subsystem* (a pure element, a pair, or
a larger set of its elements) present at a non-negligible fraction. Two kinds of evidence untrust a
subsystem on a database:

1. **A known competing phase is missing.** The phase inventory
   (:mod:`alloypref.calphad.phase_inventory`) lists the intermediate phases of each assessed binary
   diagram (and ternary compounds) and whether each database models them. A missing phase matters
   when the candidate could form a non-negligible amount of it: by the lever rule, with every atom
   of the limiting element going into the phase (solubility ignored, so the estimate errs toward
   distrust), at least ``min_competing_fraction`` of the alloy (mole fraction of atoms), at a
   temperature of the phase's stability range on the scoring grid.
2. **A detection fact fails.** The report card (:mod:`alloypref.calphad.report_card`) marks each
   (database, subsystem) with the ids of the detection facts it gets wrong; one is enough.

Calibration facts untrust nothing: they measure how right the trusted subsystems are. Both kinds
*vouch*, though: where a database gets a fact of 3+ elements right that names the whole phase set
(a two-phase B2 + BCC point of the NiAl-Mo section, say), a phase missing from one of its pairs does
not form there, in the database or in reality. So a missing phase is excused when the candidate's
projection onto such a subsystem lies within ``vouch_distance`` of a vouching point (largest
difference of mole fractions). This is what lets the lever rule, which cannot see that Ni binds Al
in NiAl, leave the NiAl + bcc-metal sections trusted.

Worked examples (defaults ``negligible_fraction`` 0.02, ``min_competing_fraction`` 0.05,
``vouch_distance`` 0.1):

* Cr95Hf5 on a database without the HfCr2 Laves phase (x_Hf 0.33 in the phase): up to
  min(0.95 / 0.67, 0.05 / 0.33) = 0.15 of the alloy could be Laves, so Cr-Hf is untrusted.
* Cr99Hf1 on the same database: at most 0.03 Laves, below 0.05: trusted as far as Laves goes.
* Nb49Ti49Ni2 where only Ni-V fails its facts: V is absent, so Ni-V is not a subsystem of it.
* Al1.5Ni98.5: Al is below ``negligible_fraction``, so none of Al's subsystems count.
* Mo40Ni30Al30 (Mo + ~45 vol% NiAl) on mc_ni, which lacks A15 AlMo3: by the Al-Mo projection up to
  0.5 of the alloy could be AlMo3, but the NiAl-Mo section facts agree on mc_ni at Mo 30 and 50 %,
  0.1 away (``vouch_distance`` 0.1): trusted. Mo70Al25Ni5, 0.35 from every section point: untrusted.

Every verdict carries its reasons in words (subsystem, missing phase and how much of it could form,
or the failed fact ids), so a user sees *why* a candidate is not trusted.

Trust evidence tables (inputs, Parquet):

* phase checks (:data:`alloypref.calphad.phase_inventory.PHASE_CHECK_SCHEMA`): one row per
  (database, inventory phase);
* subsystem verdicts (:data:`alloypref.calphad.report_card.SUBSYSTEM_VERDICT_SCHEMA`): one row per
  (database, subsystem) with the failed detection fact ids.

The workflow writes both (rules ``phase_inventory`` and ``database_report_card``, in
``results/databases/``); scoring chooses each candidate's database by this rule
(:func:`rank_databases`) and records the verdict with the rewards.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from alloypref.config_schema import schema_default

#: Names of the shipped evidence files in ``alloypref/data/trust`` (``alloypref ship-trust``).
SHIPPED_PHASE_CHECKS = "phase_checks.parquet"
SHIPPED_VERDICTS = "subsystem_verdicts.parquet"
#: The workflow's name for the phase checks in ``results/databases/`` (rule ``phase_inventory``);
#: its verdicts file is :data:`SHIPPED_VERDICTS` (rule ``database_report_card``).
RUN_PHASE_CHECKS = "phase_inventory_phases.parquet"


@dataclass(frozen=True)
class TrustSettings:
    """Thresholds of weakest-link trust (config ``calphad.trust``).

    Attributes:
        negligible_fraction: an element below this mole fraction of the master composition takes
            part in no subsystem (0-1).
        min_competing_fraction: a missing competing phase untrusts its subsystem when, by the lever
            rule, at least this mole fraction of the alloy could form it (0-1).
        vouch_distance: a missing phase is excused when the candidate's projection onto a subsystem of
            3+ elements that holds the phase's elements lies within this distance (largest difference
            of mole fractions, 0-1) of a vouching point of that subsystem on the database: an agreeing
            fact that names the whole phase set. The database is right there, so the phase it lacks
            does not form there.
    """

    negligible_fraction: float = schema_default("calphad.trust.negligible_fraction")
    min_competing_fraction: float = schema_default("calphad.trust.min_competing_fraction")
    vouch_distance: float = schema_default("calphad.trust.vouch_distance")

    def __post_init__(self):
        for name in ("negligible_fraction", "min_competing_fraction", "vouch_distance"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value <= 1 and math.isfinite(value)):
                raise ValueError(f"calphad.trust.{name} must be a number in [0, 1], got {value!r}")

    @classmethod
    def from_config(cls, trust: Mapping | None) -> TrustSettings:
        trust = dict(trust or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(trust) - known)
        if unknown:
            raise ValueError(f"calphad.trust.{unknown[0]}: unknown key (known: {sorted(known)})")
        return cls(**trust)


class TrustVerdict(NamedTuple):
    """A database's trust for one candidate: ``reasons`` is empty exactly when ``trusted``."""

    database: str
    trusted: bool
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        """The reasons in one line; "" when trusted."""
        return "; ".join(self.reasons)


def _system_elements(system: str) -> tuple[str, ...]:
    return tuple(system.split("-"))


def lever_fraction(fractions: Mapping[str, float], system: str, phase_point: Mapping[str, float]) -> float:
    """Largest mole fraction of the alloy that could form a phase of ``system`` whose composition is
    ``phase_point`` (mole fractions of the system's elements), all atoms of the limiting element in
    it: min_i x_i / p_i over the phase's elements."""
    ratios = [fractions.get(e, 0.0) / p for e, p in phase_point.items() if p > 0]
    return min(ratios) if ratios else 0.0


def binary_phase_point(fractions: Mapping[str, float], system: str, x_min: float, x_max: float) -> dict[str, float]:
    """The composition within a binary phase's range [x_min, x_max] (of the system's second element)
    that the candidate could form most of: its own projection onto the pair, clipped to the range."""
    first, second = _system_elements(system)
    total = fractions.get(first, 0.0) + fractions.get(second, 0.0)
    projected = fractions.get(second, 0.0) / total if total > 0 else 0.0
    x = min(max(projected, x_min), x_max)
    return {first: 1.0 - x, second: x}


def _neighbour_amount(x: float, phase: tuple[float, float], stable: Sequence[tuple[float, float]]) -> float:
    """Mole fraction of a binary alloy of composition ``x`` that is the phase of range ``phase`` at
    equilibrium, if the stable phases are ``stable`` (ranges) plus the terminal solutions at 0 and 1:
    1 inside its range, the lever rule when it is a neighbour of ``x``, else 0."""
    x_min, x_max = phase
    if x_min <= x <= x_max:
        return 1.0
    if any(lo <= x <= hi for lo, hi in stable):
        return 0.0  # x lies in another single-phase field
    if x < x_min:
        below = max([0.0] + [hi for lo, hi in stable if hi < x_min and hi <= x])
        if any(lo > x and hi < x_min for lo, hi in stable):
            return 0.0  # another phase lies between x and this one
        return (x - below) / (x_min - below) if x_min > below else 0.0
    above = min([1.0] + [lo for lo, hi in stable if lo > x_max and lo >= x])
    if any(hi < x and lo > x_max for lo, hi in stable):
        return 0.0
    return (above - x) / (above - x_max) if above > x_max else 0.0


def _ternary_point(formula: str) -> dict[str, float]:
    from alloypref.composition import parse_formula

    return {e.capitalize(): float(x) for e, x in parse_formula(formula).items()}


def _cell_text(value) -> str:
    """A table cell as text for hashing; a list cell (list, tuple or 1-d array) as its items joined."""
    if isinstance(value, list | tuple) or getattr(value, "ndim", 0) == 1:
        return "|".join(str(v) for v in value)
    return str(value)


class TrustEvidence:
    """The phase checks and subsystem verdicts of some databases, and the weakest-link rule over them."""

    def __init__(
        self,
        phase_checks: pd.DataFrame,
        verdicts: pd.DataFrame,
        temperatures_K: Sequence[float],
        settings: TrustSettings | None = None,
        listed_systems: Iterable[str] | None = None,
    ):
        """``listed_systems``: the systems the phase inventory lists (with a phase or as ``none``);
        a pair of present elements outside it is untrusted (nothing says what competes). None: the
        shipped inventory's."""
        if listed_systems is None:
            from alloypref.calphad.phase_inventory import load_inventory

            listed_systems = set(load_inventory()["system"])
        self.settings = settings or TrustSettings()
        self.temperatures_K = tuple(float(t) for t in temperatures_K)
        held = phase_checks[phase_checks["in_database"].astype(bool)]
        #: database -> system -> [(kind, phase, x_min, x_max, T_min_K, T_max_K, modelled)]
        self._phases: dict[str, dict[str, list[tuple]]] = {}
        for row in held.itertuples(index=False):
            self._phases.setdefault(str(row.database), {}).setdefault(str(row.system), []).append(
                (
                    str(row.phase_kind),
                    str(row.phase),
                    float(row.x_min),
                    float(row.x_max),
                    float(row.T_min_K),
                    float(row.T_max_K),
                    bool(row.modelled),
                )
            )
        self._listed = frozenset(listed_systems) if listed_systems is not None else None
        self._failed: dict[str, dict[frozenset[str], tuple[str, ...]]] = {}
        for row in verdicts.itertuples(index=False):
            failed = tuple(str(f) for f in (row.failed_detection if row.failed_detection is not None else ()))
            if failed:
                key = frozenset(_system_elements(str(row.subsystem)))
                self._failed.setdefault(str(row.database), {})[key] = failed
        #: database -> subsystem (frozenset of 3+ elements) -> vouching points (mole fractions)
        self._vouching: dict[str, dict[frozenset[str], list[dict[str, float]]]] = {}
        if "vouching_points" in verdicts.columns:
            for row in verdicts.itertuples(index=False):
                points = row.vouching_points if row.vouching_points is not None else ()
                if len(points):
                    key = frozenset(_system_elements(str(row.subsystem)))
                    self._vouching.setdefault(str(row.database), {})[key] = [_ternary_point(p) for p in points]
        #: the databases the evidence speaks of: any other one is untrusted (nothing vouches for it)
        self.databases = frozenset(map(str, phase_checks["database"])) | frozenset(map(str, verdicts["database"]))
        self._fingerprint = self._digest(phase_checks, verdicts)

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def from_files(
        cls,
        phase_checks: str | Path,
        verdicts: str | Path,
        temperatures_K: Sequence[float],
        settings: TrustSettings | None = None,
    ) -> TrustEvidence:
        """Read the two evidence tables (schemas checked on read; a missing column is an error naming
        the file)."""
        from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
        from alloypref.calphad.report_card import SUBSYSTEM_VERDICT_SCHEMA
        from alloypref.io import read_parquet

        return cls(
            read_parquet(Path(phase_checks), PHASE_CHECK_SCHEMA),
            read_parquet(Path(verdicts), SUBSYSTEM_VERDICT_SCHEMA),
            temperatures_K,
            settings,
        )

    @classmethod
    def from_folder(
        cls, folder: str | Path, temperatures_K: Sequence[float], settings: TrustSettings | None = None
    ) -> TrustEvidence:
        """The evidence in ``folder``: a run's ``results/databases/`` (:data:`RUN_PHASE_CHECKS`) or the
        output of ``alloypref ship-trust`` (:data:`SHIPPED_PHASE_CHECKS`), with :data:`SHIPPED_VERDICTS`.
        A missing file is a ``FileNotFoundError`` naming the folder and the files looked for."""
        folder = Path(folder)
        checks = next((folder / n for n in (SHIPPED_PHASE_CHECKS, RUN_PHASE_CHECKS) if (folder / n).is_file()), None)
        verdicts = folder / SHIPPED_VERDICTS
        if checks is None or not verdicts.is_file():
            raise FileNotFoundError(
                f"{folder}: trust evidence needs {SHIPPED_PHASE_CHECKS} (or {RUN_PHASE_CHECKS}) and {SHIPPED_VERDICTS}"
            )
        return cls.from_files(checks, verdicts, temperatures_K, settings)

    @classmethod
    def shipped(cls, temperatures_K: Sequence[float], settings: TrustSettings | None = None) -> TrustEvidence:
        """The evidence shipped with the package for the shipped databases (``alloypref ship-trust``)."""
        folder = resources.files("alloypref.data").joinpath("trust")
        with (
            resources.as_file(folder.joinpath(SHIPPED_PHASE_CHECKS)) as checks,
            resources.as_file(folder.joinpath(SHIPPED_VERDICTS)) as verdicts,
        ):
            return cls.from_files(checks, verdicts, temperatures_K, settings)

    @staticmethod
    def _digest(phase_checks: pd.DataFrame, verdicts: pd.DataFrame) -> str:
        digest = hashlib.sha256()
        for frame in (phase_checks, verdicts):
            # list cells (fact ids) as text independent of list or array: read and hand-made agree
            text = frame.apply(lambda column: column.map(_cell_text))
            records = text.sort_values(list(frame.columns)).to_numpy().tolist()
            digest.update(json.dumps(records).encode())
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the evidence, the thresholds, the temperatures (K) it is judged at
        and the listed systems (all change verdicts): part of every checkpoint key."""
        settings = json.dumps(
            [
                self.settings.negligible_fraction,
                self.settings.min_competing_fraction,
                self.settings.vouch_distance,
                sorted(self.temperatures_K),
                sorted(self._listed) if self._listed is not None else None,
            ]
        )
        return hashlib.sha256((self._fingerprint + settings).encode()).hexdigest()[:16]

    # -- the rule ---------------------------------------------------------------------------------
    def judge(self, composition: Mapping[str, float], database: str) -> TrustVerdict:
        """Weakest-link trust of ``database`` for a master composition (mole fractions)."""
        fractions = {str(e).capitalize(): float(x) for e, x in composition.items()}
        present = {e for e, x in fractions.items() if x >= self.settings.negligible_fraction}
        if database not in self.databases:
            return TrustVerdict(database, False, (f"no trust evidence (phase inventory, report card) for {database}",))
        reasons: list[str] = []
        for subsystem, failed in sorted(self._failed.get(database, {}).items(), key=lambda kv: sorted(kv[0])):
            if subsystem <= present:
                name = "-".join(sorted(subsystem))
                reasons.append(f"{name}: {database} fails detection fact(s) {', '.join(failed)}")
        for pair in itertools.combinations(sorted(present), 2):
            system = "-".join(pair)
            if self._listed is not None and system not in self._listed:
                reasons.append(f"{system}: no assessed phase inventory for this pair, so nothing says what competes")
        for system, phases in sorted(self._phases.get(database, {}).items()):
            elements = _system_elements(system)
            if not set(elements) <= present:
                continue
            for kind, phase, amount in self._missing_amounts(fractions, system, phases):
                if amount >= self.settings.min_competing_fraction and not self._vouched(
                    fractions, present, set(elements), database
                ):
                    reasons.append(
                        f"{system}: {kind} {phase} is not modelled by {database}; "
                        f"up to {amount:.0%} of the alloy could be {phase}"
                    )
        return TrustVerdict(database, not reasons, tuple(reasons))

    def _missing_amounts(self, fractions: Mapping[str, float], system: str, phases: list[tuple]):
        """(kind, phase, largest amount) of each unmodelled phase of ``system`` that could form.

        A binary phase could form when, at some grid temperature of its stability range, it is a
        neighbour of the candidate's projected composition on the pair's axis among the phases stable
        at that temperature (the terminal solutions count as x = 0 and x = 1): the equilibrium of a
        binary lies between its two neighbours. Its amount is the lever rule between them, times the
        pair's share of the alloy. A ternary compound (a point) could form up to min_i x_i / p_i.
        """
        elements = _system_elements(system)
        if len(elements) != 2:
            for kind, phase, _, _, t_min, t_max, modelled in phases:
                if modelled or not any(t_min <= t <= t_max for t in self.temperatures_K):
                    continue
                yield kind, phase, lever_fraction(fractions, system, _ternary_point(phase))
            return
        first, second = elements
        share = fractions.get(first, 0.0) + fractions.get(second, 0.0)
        x = fractions.get(second, 0.0) / share if share > 0 else 0.0
        best: dict[tuple[str, str], float] = {}
        for t in self.temperatures_K:
            stable = [p for p in phases if p[4] <= t <= p[5]]
            if not stable:
                continue
            for kind, phase, x_min, x_max, _, _, modelled in stable:
                if modelled:
                    continue
                amount = share * _neighbour_amount(x, (x_min, x_max), [(p[2], p[3]) for p in stable])
                if amount > best.get((kind, phase), -1.0):
                    best[(kind, phase)] = amount
        for (kind, phase), amount in best.items():
            yield kind, phase, amount

    def _vouched(self, fractions: Mapping[str, float], present: set[str], elements: set[str], database: str) -> bool:
        """Whether a vouching point of ``database`` lies within ``vouch_distance`` of the candidate's
        projection onto a subsystem of present elements that holds ``elements``."""
        for subsystem, points in self._vouching.get(database, {}).items():
            if not (elements <= subsystem <= present):
                continue
            total = sum(fractions[e] for e in subsystem)
            projected = {e: fractions[e] / total for e in subsystem}
            for point in points:
                if max(abs(projected[e] - point.get(e, 0.0)) for e in subsystem) <= self.settings.vouch_distance:
                    return True
        return False

    def judge_all(self, composition: Mapping[str, float], databases: Iterable[str]) -> list[TrustVerdict]:
        return [self.judge(composition, name) for name in databases]


class TrustedChoice(NamedTuple):
    """A database that holds all of a candidate's elements, with its trust verdict and coverage (0-1)."""

    verdict: TrustVerdict
    coverage: float

    @property
    def database(self) -> str:
        return self.verdict.database


def rank_databases(
    evidence: TrustEvidence | None, composition: Mapping[str, float], coverages: Sequence[tuple[str, float]]
) -> list[TrustedChoice]:
    """The databases of ``coverages`` ((name, coverage) in configured order, each holding every element
    of the composition), trusted first, then by fewer reasons, higher coverage and configured order.
    Without evidence every database is untrusted ("no trust evidence")."""
    ranked = []
    for position, (name, coverage) in enumerate(coverages):
        verdict = (
            evidence.judge(composition, name)
            if evidence is not None
            else TrustVerdict(name, False, ("no trust evidence (phase inventory and report card) given",))
        )
        # rounded: solver-free arithmetic noise must not reorder two databases of equal standing
        ranked.append(((not verdict.trusted, len(verdict.reasons), -round(coverage, 9), position), verdict, coverage))
    return [TrustedChoice(verdict, coverage) for _, verdict, coverage in sorted(ranked, key=lambda r: r[0])]
