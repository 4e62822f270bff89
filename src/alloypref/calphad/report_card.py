"""A database report card: how well each configured database reproduces known phase facts.

Coverage says whether a database *has* parameters for a pair of elements; the report card says
whether they give the right phases. Each fact of :mod:`alloypref.data` ``phase_facts.csv`` (facts
about nature from assessed phase diagrams, handbooks and measured alloys, see ``phase_facts.md``) is
solved on each database through the scorer's own backend (:class:`PycalphadBackend.phase_table`, so
the BCC fix, the fine-grid ordering check and the per-database phase roles all apply) and compared
with what nature does.

Facts (``phase_facts.csv``, one row per fact):

==================  ========  ==============================================================
column              dtype     meaning
==================  ========  ==============================================================
``fact_id``         string    unique id, e.g. ``Al-Ni-b2-1273``
``kind``            string    one of :data:`FACT_KINDS`; sets how the fact is judged (below)
``elements``        string    the fact's subsystem: its elements (chemical symbols), sorted and
                              joined by ``-`` (``Al-Ni``; ``Mo``; ``Al-Cr-Fe-Mo-Ni``)
``composition``     string    atomic percent, e.g. ``Al50Ni50``, ``Mo100``; sums to 100
``temperature_K``   float64   temperature of the fact (K); the transition temperature for the
                              kinds of :data:`TRANSITION_KINDS`
``expected``        string    phase classes (:data:`PHASE_CLASSES`) sorted and joined by ``+``:
                              present at T (set kinds), the ones that must be present
                              (``phase_present``) or absent (``phase_absent``, ``no_liquid``),
                              or present at T - tolerance (transition kinds)
``expected_above``  string    transition kinds only: the classes present at T + tolerance
``tolerance_K``     float64   transition kinds only (K): the fact is judged at T -/+ tolerance
``role``            string    ``calibration`` (must hold on every database trusted for the
                              subsystem) or ``detection`` (a database that gets it wrong is not
                              trusted for the subsystem)
``status``          string    ``confirmed`` (read in the source), ``unconfirmed`` (from the
                              source as remembered, not re-read) or ``doubtful`` (kept on the
                              card, left out of every count and verdict)
``source``          string    ``<key>:<system>``; the keys are expanded in ``phase_facts.md``
==================  ========  ==============================================================

Phase classes: ``BCC`` (disordered BCC), ``B2`` (ordered), ``LIQUID``, ``FCC``, ``HCP``, ``LAVES``
(C14/C15/C36), ``SIGMA``, ``MU`` and ``OTHER`` (every other phase: aluminides, alpha-Mn, ...). BCC,
B2 and LIQUID come from the database's ``phase_roles`` as in scoring; the others from
``report_card.structures`` (phase name -> class, per database), never from substrings of names. A
fact that names none of LAVES, SIGMA and MU sees those phases as ``OTHER`` (``intermetallic`` facts
predate the finer classes); one that names a finer class needs exactly it. Phases below
``min_phase_fraction`` are ignored. How each kind is judged (``P`` the classes present at T):

* set kinds (:data:`SET_KINDS`): ``P == expected``;
* ``phase_present``: ``expected`` is a subset of ``P``; ``phase_absent``: no class of ``expected`` is
  in ``P``; ``no_liquid``: the same with ``expected == LIQUID`` (an alloy that must be solid at T);
* ``melting_point`` (one element): no liquid at T - tolerance and only liquid at T + tolerance;
* transition kinds (:data:`TRANSITION_KINDS`): ``P(T - tolerance) == expected`` and
  ``P(T + tolerance) == expected_above`` (``order_disorder``: B2 below, not above;
  ``congruent_melting``: liquid alone above; ``phase_boundary``: any boundary crossed at T, such
  as a solvus, a peritectic or an allotropic transus).

A fact with an element a database lacks is *not computable* there (``agrees`` null); a solve that
fails counts as a disagreement (a database that cannot answer is not trusted).

Outputs: the card (:data:`REPORT_CARD_SCHEMA`, fact x database), the per-pair summary
(:data:`PAIR_SUMMARY_SCHEMA`, for reading), the per-(database,
subsystem) verdicts (:data:`SUBSYSTEM_VERDICT_SCHEMA`, with the ids of the failed facts) and the
per-database summary with a best-of row (:data:`DATABASE_SUMMARY_SCHEMA`). :func:`evaluate_sharded`
keeps each (database, subsystem) shard's rows on disk keyed by what made them, so a long card can be
stopped and resumed.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.databases import database_elements
from alloypref.config_schema import schema_default

log = logging.getLogger(__name__)

#: Kinds judged by the exact set of phase classes present at T.
SET_KINDS = (
    "pure_structure",
    "b2_compound",
    "bcc_solid_solution",
    "fcc_solid_solution",
    "hcp_solid_solution",
    "intermetallic",
    "two_phase",
    "two_phase_a2_b2",
    "laves_competition",
    "phase_set",
    "alloy_phase_set",
)
#: Kinds judged at T - tolerance (``expected``) and T + tolerance (``expected_above``).
TRANSITION_KINDS = ("order_disorder", "congruent_melting", "phase_boundary")
FACT_KINDS = (*SET_KINDS, "phase_present", "phase_absent", "no_liquid", "melting_point", *TRANSITION_KINDS)
PHASE_CLASSES = ("B2", "BCC", "FCC", "HCP", "LAVES", "LIQUID", "MU", "OTHER", "SIGMA")
#: Classes a fact must name to see them; otherwise they count as ``OTHER``.
FINE_CLASSES = ("LAVES", "MU", "SIGMA")
ROLES = ("calibration", "detection")
STATUSES = ("confirmed", "unconfirmed", "doubtful")
#: The columns that decide a fact's solve and verdict (a shard's key); the others only label it.
SOLVE_COLUMNS = (
    "fact_id",
    "kind",
    "elements",
    "composition",
    "temperature_K",
    "expected",
    "expected_above",
    "tolerance_K",
)
FACT_COLUMNS = (*SOLVE_COLUMNS, "role", "status", "source")
#: Card column -> facts column re-attached from the current facts when a kept shard is read.
_LABEL_COLUMNS = {"role": "role", "fact_status": "status", "source": "source"}
#: Every chemical symbol: an element outside it is a typo, not a fact.
CHEMICAL_SYMBOLS = frozenset(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm "
    "Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No "
    "Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og".split()
)

#: Structure labels the table's ``structure`` column carries for BCC-type and liquid phases.
_ROLE_CLASSES = {"BCC": "BCC", "B2": "B2", "LIQUID": "LIQUID"}

REPORT_CARD_SCHEMA = pa.schema(
    [
        ("fact_id", pa.string()),
        ("database", pa.string()),
        ("subsystem", pa.string()),  # the fact's elements, sorted, "-"-joined
        ("element_a", pa.string()),  # first and last element of the subsystem (pairs: the pair)
        ("element_b", pa.string()),
        ("kind", pa.string()),
        ("role", pa.string()),  # calibration | detection
        ("fact_status", pa.string()),  # confirmed | unconfirmed | doubtful (doubtful: never counted)
        ("composition", pa.string()),
        ("temperature_K", pa.float64()),
        ("expected", pa.string()),  # "A / B" for transition kinds: below / above
        ("agrees", pa.bool_()),  # null: not computable on this database
        ("predicted", pa.string()),  # phases present, "+"-joined; "BELOW / ABOVE" for two temperatures
        ("status", pa.string()),  # ok | not_computable | failed: <reason>
        ("source", pa.string()),
    ]
)
"""One row per fact x database. ``element_a <= element_b``; equal for pure-element facts."""

PAIR_SUMMARY_SCHEMA = pa.schema(
    [
        ("database", pa.string()),
        ("element_a", pa.string()),
        ("element_b", pa.string()),
        ("n_facts", pa.int64()),
        ("n_agree", pa.int64()),
        ("agreement", pa.float64()),
        ("trusted", pa.bool_()),
    ]
)
"""One row per database x element pair (or pure element) with facts of at most two elements, doubtful
facts left out: ``n_facts`` computable facts, ``n_agree`` of them agreeing, ``agreement = n_agree /
n_facts`` (0-1; NaN when ``n_facts`` is 0) and ``trusted`` = ``n_facts > 0``, no detection fact
fails and ``agreement >= min_agreement`` (default 1: every fact agrees)."""

SUBSYSTEM_VERDICT_SCHEMA = pa.schema(
    [
        ("database", pa.string()),
        ("subsystem", pa.string()),  # sorted elements joined by "-": "Ni", "Ni-V", "Al-Cr-Ni"
        ("n_elements", pa.int64()),
        ("n_facts", pa.int64()),  # computable, counted (not doubtful) facts
        ("n_calibration", pa.int64()),
        ("n_calibration_agree", pa.int64()),
        ("calibration_agreement", pa.float64()),  # 0-1; NaN without calibration facts
        ("n_detection", pa.int64()),
        ("n_detection_agree", pa.int64()),
        ("failed_calibration", pa.list_(pa.string())),  # fact ids, sorted
        ("failed_detection", pa.list_(pa.string())),  # fact ids, sorted: each one untrusts
        ("n_doubtful", pa.int64()),  # evaluated, never counted
        # compositions of the agreeing facts that name the whole phase set (SET_KINDS) in a subsystem
        # of 3+ elements: the database is right there, so a phase it lacks does not form there
        ("vouching_points", pa.list_(pa.string())),
        ("verdict", pa.string()),  # trusted | untrusted | untested
        ("reason", pa.string()),  # why, in words, naming the failed facts and what was predicted
    ]
)
"""One row per database x subsystem with facts (the trust work's input): ``untrusted`` when a
detection fact of the subsystem fails, ``untested`` when no counted fact is computable, otherwise
``trusted``. Failed calibration facts do not untrust; they lower the database's calibration pass rate
(:data:`DATABASE_SUMMARY_SCHEMA`), whose target is >= 0.95 over its trusted subsystems."""

DATABASE_SUMMARY_SCHEMA = pa.schema(
    [
        ("database", pa.string()),  # or "best_of": a fact agrees when any database computing it does
        ("n_facts", pa.int64()),
        ("n_agree", pa.int64()),
        ("n_calibration", pa.int64()),
        ("n_calibration_agree", pa.int64()),
        ("calibration_pass_rate", pa.float64()),  # 0-1, every computable calibration fact
        ("n_calibration_trusted", pa.int64()),  # calibration facts of subsystems trusted here
        ("n_calibration_trusted_agree", pa.int64()),
        ("calibration_pass_rate_trusted", pa.float64()),  # 0-1: the >= 0.95 target
        ("n_detection", pa.int64()),
        ("n_detection_failed", pa.int64()),
        ("untrusted_subsystems", pa.list_(pa.string())),
    ]
)
"""One row per database plus ``best_of``, counted (not doubtful) computable facts only."""


class FactsError(ValueError):
    """A facts file that cannot be used; the message names the file, line, column and value."""


_COMPOSITION = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?)")


def parse_composition(text: str) -> dict[str, float]:
    """``Al50Ni50`` (atomic percent) -> ``{"Al": 0.5, "Ni": 0.5}`` (atomic fractions)."""
    parts = _COMPOSITION.findall(text)
    if not parts or "".join(e + n for e, n in parts) != text:
        raise ValueError(f"composition {text!r} is not of the form Al50Ni50 (atomic percent)")
    percents: dict[str, float] = {}
    for element, number in parts:
        if element not in CHEMICAL_SYMBOLS:
            raise ValueError(f"composition {text!r}: {element!r} is not a chemical element")
        if element in percents:
            raise ValueError(f"composition {text!r} names {element} twice")
        percents[element] = float(number)
    if not math.isclose(sum(percents.values()), 100.0, abs_tol=1e-6) or min(percents.values()) <= 0:
        raise ValueError(f"composition {text!r}: positive atomic percents must sum to 100")
    return {e: p / 100.0 for e, p in percents.items()}


def default_facts_path() -> Path:
    """The facts shipped with the package."""
    return Path(str(resources.files("alloypref.data").joinpath("phase_facts.csv")))


def load_facts(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check a facts file (columns in the module docstring).

    Every error is a :class:`FactsError` naming the file, line, column and offending value.
    """
    path = Path(path) if path is not None else default_facts_path()
    if not path.is_file():
        raise FactsError(f"facts file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != FACT_COLUMNS:
            raise FactsError(f"{path}: header must be {','.join(FACT_COLUMNS)}, got {reader.fieldnames}")
        rows, seen = [], {}
        for line, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise FactsError(f"{path}, line {line}: expected {len(FACT_COLUMNS)} fields")
            rows.append(_checked_fact(row, f"{path}, line {line}", seen, line))
    if not rows:
        raise FactsError(f"{path}: no facts")
    frame = pd.DataFrame(rows, columns=list(FACT_COLUMNS))
    return frame.astype({"temperature_K": "float64", "tolerance_K": "float64"})


def _classes(text: str) -> list[str] | None:
    """``B2+BCC`` -> ``["B2", "BCC"]``; None unless known classes, sorted, each once."""
    parts = text.split("+")
    if any(p not in PHASE_CLASSES for p in parts) or parts != sorted(set(parts)):
        return None
    return parts


def _checked_fact(row: Mapping[str, str], where: str, seen: dict[str, int], line: int) -> dict:
    def fail(column: str, message: str) -> FactsError:
        return FactsError(f"{where}, column {column}: {message}")

    row = {k: (v or "").strip() for k, v in row.items()}
    fact_id = row["fact_id"]
    if not fact_id:
        raise fail("fact_id", "empty")
    if fact_id in seen:
        raise fail("fact_id", f"{fact_id!r} repeats (first on line {seen[fact_id]})")
    seen[fact_id] = line
    kind = row["kind"]
    if kind not in FACT_KINDS:
        raise fail("kind", f"unknown kind {kind!r}; one of {list(FACT_KINDS)}")
    unknown = [e for e in row["elements"].split("-") if e not in CHEMICAL_SYMBOLS]
    if unknown:
        raise fail("elements", f"unknown element {unknown[0]!r} in {row['elements']!r}")
    try:
        fractions = parse_composition(row["composition"])
    except ValueError as exc:
        raise fail("composition", str(exc)) from None
    elements = row["elements"].split("-")
    if elements != sorted(fractions):
        raise fail("elements", f"{row['elements']!r} must be the composition's elements, sorted and joined by '-'")
    try:
        temperature = float(row["temperature_K"])
    except ValueError:
        raise fail("temperature_K", f"{row['temperature_K']!r} is not a number") from None
    if not temperature > 0:
        raise fail("temperature_K", f"{temperature} must be > 0")
    expected = _classes(row["expected"])
    if expected is None:
        raise fail("expected", f"unknown phase in {row['expected']!r}: classes of {list(PHASE_CLASSES)}, sorted, '+'")
    two_temperatures = kind in TRANSITION_KINDS or kind == "melting_point"
    above = None
    if kind in TRANSITION_KINDS:
        above = _classes(row["expected_above"])
        if above is None:
            raise fail(
                "expected_above",
                f"unknown phase in {row['expected_above']!r}: a {kind} fact needs the classes above T "
                f"({list(PHASE_CLASSES)}, sorted, '+')",
            )
    elif row["expected_above"]:
        raise fail("expected_above", f"{row['expected_above']!r}: only {list(TRANSITION_KINDS)} facts take one")
    tolerance = float("nan")
    if two_temperatures:
        try:
            tolerance = float(row["tolerance_K"])
        except ValueError:
            raise fail("tolerance_K", f"{row['tolerance_K']!r}: a {kind} fact needs a tolerance (K)") from None
        if not 0 < tolerance < temperature:
            raise fail("tolerance_K", f"{tolerance} must be > 0 and below the temperature")
    elif row["tolerance_K"]:
        raise fail("tolerance_K", f"{row['tolerance_K']!r}: only melting and transition facts take a tolerance")
    rules = {
        "melting_point": (len(fractions) == 1 and expected == ["LIQUID"], "is about one element and expects LIQUID"),
        "no_liquid": (expected == ["LIQUID"], "expects LIQUID (the phase that must be absent)"),
        "two_phase_a2_b2": (expected == ["B2", "BCC"], "expects B2+BCC"),
        "laves_competition": ("LAVES" in expected, "expects LAVES among its classes"),
        "order_disorder": ("B2" in expected and above is not None and "B2" not in above, "expects B2 below, not above"),
        "congruent_melting": (above == ["LIQUID"] and "LIQUID" not in expected, "expects solid below, LIQUID above"),
    }
    ok, rule = rules.get(kind, (True, ""))
    if not ok:
        raise fail("expected", f"{row['expected']!r}: a {kind} fact {rule}")
    if row["role"] not in ROLES:
        raise fail("role", f"unknown role {row['role']!r}; one of {list(ROLES)}")
    if row["status"] not in STATUSES:
        raise fail("status", f"unknown status {row['status']!r}; one of {list(STATUSES)}")
    if ":" not in row["source"]:
        raise fail("source", f"{row['source']!r} is not <key>:<system>")
    return {
        **{k: row[k] for k in FACT_COLUMNS},
        "fact_id": fact_id,
        "temperature_K": temperature,
        "tolerance_K": tolerance,
    }


def facts_within(facts: pd.DataFrame, elements: Iterable[str]) -> pd.DataFrame:
    """The facts whose elements all lie in ``elements``."""
    allowed = {e.capitalize() for e in elements}
    keep = facts["elements"].map(lambda text: set(text.split("-")) <= allowed)
    return facts[keep].reset_index(drop=True)


@dataclass(frozen=True)
class ReportCardSettings:
    """How predictions are classified and trust is decided.

    Attributes:
        structures: database name -> {phase name: ``FCC``, ``HCP``, ``LAVES``, ``SIGMA`` or ``MU``};
            phases that are neither BCC-type, liquid nor listed here are ``OTHER``.
        min_phase_fraction: phases below this mole fraction (0-1) are ignored in the comparison.
        min_agreement: a pair is trusted in the pair summary when it has facts and at least this
            share agree (0-1).
    """

    structures: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: schema_default("report_card.structures")
    )
    min_phase_fraction: float = float(schema_default("report_card.min_phase_fraction"))
    min_agreement: float = float(schema_default("report_card.min_agreement"))


def _phase_name(label: str) -> str:
    return label.rsplit("#", 1)[0]


def present_phases(table: pd.DataFrame, structures: Mapping[str, str], min_fraction: float) -> dict[str, str]:
    """Phases present in one temperature's rows: database phase name -> class (``PHASE_CLASSES``).

    A phase name with sets of different order (``BCC_B2`` ordered and disordered) keys each class.
    """
    out: dict[str, str] = {}
    for _, row in table[table["mole_fraction"] >= min_fraction].iterrows():
        name = _phase_name(row["phase"])
        cls = _ROLE_CLASSES.get(row["structure"]) or structures.get(name, "OTHER")
        key = name if cls not in ("BCC", "B2") else f"{name}:{cls}"
        out[key] = cls
    return out


def _describe(phases: Mapping[str, str]) -> str:
    """``C14_LAVES+LIQUID``: the class for BCC/B2/FCC/HCP/LIQUID phases, the database's name otherwise."""
    names = {cls if cls in ("B2", "BCC", "FCC", "HCP", "LIQUID") else key for key, cls in phases.items()}
    return "+".join(sorted(names)) if names else "NONE"


def _temperatures(fact: Mapping) -> tuple[float, ...]:
    if fact["kind"] == "melting_point" or fact["kind"] in TRANSITION_KINDS:
        return (fact["temperature_K"] - fact["tolerance_K"], fact["temperature_K"] + fact["tolerance_K"])
    return (fact["temperature_K"],)


def _seen(phases: Mapping[str, str], named: set[str]) -> set[str]:
    """The classes present as a fact sees them: finer classes it does not name count as OTHER."""
    return {cls if cls not in FINE_CLASSES or cls in named else "OTHER" for cls in phases.values()}


def judge(fact: Mapping, tables: Mapping[float, pd.DataFrame], structures: Mapping[str, str], min_fraction: float):
    """``(agrees, predicted)`` of one fact from its phase tables (temperature -> rows)."""
    phases = [present_phases(tables[t], structures, min_fraction) for t in _temperatures(fact)]
    kind = fact["kind"]
    expected = set(fact["expected"].split("+"))
    above = set(fact["expected_above"].split("+")) if fact["expected_above"] else set()
    named = expected | above
    predicted = " / ".join(_describe(p) for p in phases)
    if kind == "melting_point":
        below_phases, above_phases = phases
        agrees = (
            bool(below_phases) and "LIQUID" not in below_phases.values() and set(above_phases.values()) == {"LIQUID"}
        )
        return agrees, predicted
    if kind in TRANSITION_KINDS:
        low, high = (_seen(p, named) for p in phases)
        return low == expected and high == above, predicted
    (present,) = (_seen(p, named) for p in phases)
    if kind == "phase_present":
        return expected <= present, predicted
    if kind in ("phase_absent", "no_liquid"):
        return bool(present) and not (expected & present), predicted
    return present == expected, predicted


def _expected_text(fact: Mapping) -> str:
    if fact["kind"] in TRANSITION_KINDS:
        return f"{fact['expected']} / {fact['expected_above']}"
    if fact["kind"] in ("phase_absent", "no_liquid"):
        return f"no {fact['expected']}"
    if fact["kind"] == "phase_present":
        return f"{fact['expected']} (+any)"
    return fact["expected"]


def evaluate(
    facts: pd.DataFrame,
    backend,
    settings: ReportCardSettings | None = None,
    progress: Callable[[int], None] | None = None,
    databases: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every fact on every database of ``backend`` (a :class:`PycalphadBackend`; only ``databases``
    when given): the report card.

    Facts of one composition are solved together (one ``phase_table`` call per database and
    composition, all their temperatures at once), so each compiled system is built once.
    ``progress``, if given, is called with the number of facts just finished on a database.
    """
    settings = settings or ReportCardSettings()
    rows: list[dict] = []
    for database in databases if databases is not None else list(backend.specs):
        have = database_elements(backend.database(database))
        structures = settings.structures.get(database, {})
        for composition, group in facts.groupby("composition", sort=True):
            fractions = parse_composition(composition)
            computable = set(fractions) <= have
            tables: dict[float, pd.DataFrame] = {}
            failure = None
            if computable:
                temperatures = sorted({t for _, fact in group.iterrows() for t in _temperatures(fact)})
                try:
                    table = backend.phase_table(fractions, temperatures, database)
                    tables = {t: table[table["temperature_K"] == t] for t in temperatures}
                except CalphadError as exc:
                    failure = exc.reason
                    log.warning("%s on %s failed: %s", composition, database, exc.reason)
            for _, fact in group.iterrows():
                if not computable:
                    agrees, predicted, status = None, None, "not_computable"
                elif failure is not None:
                    agrees, predicted, status = False, "FAILED", f"failed: {failure}"
                else:
                    agrees, predicted = judge(fact, tables, structures, settings.min_phase_fraction)
                    status = "ok"
                elements = fact["elements"].split("-")
                rows.append(
                    {
                        "fact_id": fact["fact_id"],
                        "database": database,
                        "subsystem": fact["elements"],
                        "element_a": elements[0],
                        "element_b": elements[-1],
                        "kind": fact["kind"],
                        "role": fact["role"],
                        "fact_status": fact["status"],
                        "composition": composition,
                        "temperature_K": fact["temperature_K"],
                        "expected": _expected_text(fact),
                        "agrees": agrees,
                        "predicted": predicted,
                        "status": status,
                        "source": fact["source"],
                    }
                )
            if progress is not None:
                progress(len(group))
    card = pd.DataFrame(rows, columns=REPORT_CARD_SCHEMA.names)
    card["agrees"] = card["agrees"].astype("boolean")
    return card.sort_values(["database", "subsystem", "fact_id"]).reset_index(drop=True)


def database_sha256(backend, database: str) -> str:
    """SHA-256 (hex) of a configured database as the backend reads it: its identity (file and applied
    patches, :attr:`~alloypref.calphad.databases.DatabaseSettings.content_hash`) and load settings, so
    a shard solved on the original file is never reused for a patched one."""
    spec = backend.specs[database]
    digest = hashlib.sha256(spec.content_hash.encode())
    digest.update(repr((spec.strip_refs, sorted(dict(spec.phase_roles).items()))).encode())
    return digest.hexdigest()


def shard_key(facts: pd.DataFrame, database_digest: str, settings: ReportCardSettings, backend_settings) -> str:
    """SHA-256 (hex) of what makes one shard's rows: its facts' :data:`SOLVE_COLUMNS`, the database,
    the settings. A fact's role, status and source are not part of it (they are re-attached from the
    current facts when a shard is read), so confirming a fact or mending a citation re-solves nothing.

    ``backend_settings`` (the backend's own settings object: point densities, order threshold ...)
    enters by its ``repr``, dataclass fields included.
    """
    described = {
        "facts": facts.sort_values("fact_id")[list(SOLVE_COLUMNS)].astype(str).to_dict(orient="records"),
        "database": database_digest,
        "settings": {
            "structures": {db: dict(sorted(p.items())) for db, p in sorted(settings.structures.items())},
            "min_phase_fraction": settings.min_phase_fraction,
        },
        "backend": repr(backend_settings),
        "card_schema": REPORT_CARD_SCHEMA.names,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def evaluate_sharded(
    facts: pd.DataFrame,
    backend,
    settings: ReportCardSettings | None,
    shard_dir: str | Path,
    progress: Callable[[int], None] | None = None,
    databases: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` one shard (database x subsystem) at a time, each kept under ``shard_dir``.

    A shard's rows are written to ``<shard_dir>/<database>/<subsystem>.<key>.parquet`` as soon as it
    is solved, ``key`` = :func:`shard_key` of its facts, the database file and the settings. A rerun
    reads every shard whose key file exists and solves only the rest, so a card stopped at any point
    resumes where it stopped, and a changed fact, database or setting re-solves only its shards.
    """
    from alloypref.io import read_parquet, write_parquet

    settings = settings or ReportCardSettings()
    shard_dir = Path(shard_dir)
    backend_settings = getattr(backend, "settings", None)
    parts = []
    for database in databases if databases is not None else list(backend.specs):
        digest = database_sha256(backend, database)
        reused = 0
        for subsystem, group in facts.groupby("elements", sort=True):
            key = shard_key(group, digest, settings, backend_settings)[:20]
            path = shard_dir / database / f"{subsystem}.{key}.parquet"
            if path.is_file():
                part = read_parquet(path, REPORT_CARD_SCHEMA)
                part["agrees"] = part["agrees"].astype("boolean")
                current = group.set_index("fact_id")
                for column, fact_column in _LABEL_COLUMNS.items():
                    part[column] = part["fact_id"].map(current[fact_column])
                reused += 1
                if progress is not None:
                    progress(len(group))
            else:
                part = evaluate(group, backend, settings, progress, databases=[database])
                write_parquet(part, path, REPORT_CARD_SCHEMA)
            parts.append(part)
        log.info("report card %s: %d shards reused from %s", database, reused, shard_dir)
    if not parts:
        return evaluate(facts.iloc[:0], backend, settings, databases=[])
    card = pd.concat(parts, ignore_index=True)
    card["agrees"] = card["agrees"].astype("boolean")
    return card.sort_values(["database", "subsystem", "fact_id"]).reset_index(drop=True)


def counted(card: pd.DataFrame) -> pd.DataFrame:
    """The card's rows that count: computable, and not about a doubtful fact."""
    return card[card["agrees"].notna() & (card["fact_status"] != "doubtful")]


def pair_summary(
    card: pd.DataFrame,
    min_agreement: float = 1.0,
    elements: Iterable[str] | None = None,
    databases: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per database and element pair: computable facts, agreeing facts, agreement, trusted (schema above).

    Facts of more than two elements and doubtful facts are left out. With ``elements`` and
    ``databases``, every pure element and pair of ``elements`` gets a row on every database, those
    without a computable fact with ``n_facts`` 0 (never trusted), so a reader finds each pair of the
    design space.
    """
    rows = []
    small = card[(card["subsystem"].str.count("-") <= 1) & (card["fact_status"] != "doubtful")]
    for (database, element_a, element_b), group in small.groupby(["database", "element_a", "element_b"], sort=True):
        computable = group["agrees"].notna()
        n_facts = int(computable.sum())
        n_agree = int(group.loc[computable, "agrees"].astype(bool).sum())
        agreement = n_agree / n_facts if n_facts else float("nan")
        detection_failed = bool((computable & (group["role"] == "detection") & ~group["agrees"].fillna(True)).any())
        rows.append(
            {
                "database": database,
                "element_a": element_a,
                "element_b": element_b,
                "n_facts": n_facts,
                "n_agree": n_agree,
                "agreement": agreement,
                "trusted": bool(n_facts > 0 and not detection_failed and agreement >= min_agreement - 1e-12),
            }
        )
    if elements is not None and databases is not None:
        have = {(r["database"], r["element_a"], r["element_b"]) for r in rows}
        for database in databases:
            for element_a, element_b in pairs_of(elements):
                if (database, element_a, element_b) not in have:
                    rows.append(
                        {
                            "database": database,
                            "element_a": element_a,
                            "element_b": element_b,
                            "n_facts": 0,
                            "n_agree": 0,
                            "agreement": float("nan"),
                            "trusted": False,
                        }
                    )
    summary = pd.DataFrame(rows, columns=PAIR_SUMMARY_SCHEMA.names)
    summary = summary.sort_values(["database", "element_a", "element_b"]).reset_index(drop=True)
    return summary.astype({"n_facts": "int64", "n_agree": "int64", "agreement": "float64", "trusted": "bool"})


def subsystem_verdicts(card: pd.DataFrame) -> pd.DataFrame:
    """Per database and subsystem with facts: counts, failed fact ids and the verdict (schema above)."""
    rows = []
    for (database, subsystem), group in card.groupby(["database", "subsystem"], sort=True):
        used = counted(group)
        calibration = used[used["role"] == "calibration"]
        detection = used[used["role"] == "detection"]
        failed_cal = sorted(calibration.loc[~calibration["agrees"].astype(bool), "fact_id"])
        failed_det_rows = detection[~detection["agrees"].astype(bool)].sort_values("fact_id")
        failed_det = list(failed_det_rows["fact_id"])
        n_cal = len(calibration)
        vouching = used[used["agrees"].astype(bool) & used["kind"].isin(SET_KINDS)] if len(used) else used
        vouching_points = sorted(set(vouching["composition"])) if subsystem.count("-") >= 2 else []
        if failed_det:
            verdict = "untrusted"
            reason = "; ".join(
                f"detection fact {r.fact_id} fails: {r.composition} at {r.temperature_K:g} K expected "
                f"{r.expected}, predicted {r.predicted}"
                for r in failed_det_rows.itertuples()
            )
        elif used.empty:
            verdict, reason = "untested", "no counted fact is computable on this database"
        else:
            verdict = "trusted"
            reason = f"{len(detection)} detection facts hold; {n_cal - len(failed_cal)}/{n_cal} calibration facts agree"
            if failed_cal:
                reason += f" (failed: {', '.join(failed_cal)})"
        rows.append(
            {
                "database": database,
                "subsystem": subsystem,
                "n_elements": subsystem.count("-") + 1,
                "n_facts": len(used),
                "n_calibration": n_cal,
                "n_calibration_agree": n_cal - len(failed_cal),
                "calibration_agreement": (n_cal - len(failed_cal)) / n_cal if n_cal else float("nan"),
                "n_detection": len(detection),
                "n_detection_agree": len(detection) - len(failed_det),
                "failed_calibration": failed_cal,
                "failed_detection": failed_det,
                "n_doubtful": int((group["agrees"].notna() & (group["fact_status"] == "doubtful")).sum()),
                "vouching_points": vouching_points,
                "verdict": verdict,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=SUBSYSTEM_VERDICT_SCHEMA.names)


def database_summary(card: pd.DataFrame, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per database and ``best_of``: counts, calibration pass rates and the untrusted subsystems."""
    verdicts = subsystem_verdicts(card) if verdicts is None else verdicts
    used = counted(card)
    rows = []

    def row(name: str, facts: pd.DataFrame, trusted: set[str], untrusted: list[str]) -> dict:
        agrees = facts["agrees"].astype(bool)
        cal = facts["role"] == "calibration"
        cal_trusted = cal & facts["subsystem"].isin(trusted)
        det = facts["role"] == "detection"
        return {
            "database": name,
            "n_facts": len(facts),
            "n_agree": int(agrees.sum()),
            "n_calibration": int(cal.sum()),
            "n_calibration_agree": int((cal & agrees).sum()),
            "calibration_pass_rate": float((cal & agrees).sum() / cal.sum()) if cal.any() else float("nan"),
            "n_calibration_trusted": int(cal_trusted.sum()),
            "n_calibration_trusted_agree": int((cal_trusted & agrees).sum()),
            "calibration_pass_rate_trusted": (
                float((cal_trusted & agrees).sum() / cal_trusted.sum()) if cal_trusted.any() else float("nan")
            ),
            "n_detection": int(det.sum()),
            "n_detection_failed": int((det & ~agrees).sum()),
            "untrusted_subsystems": untrusted,
        }

    for database, facts in used.groupby("database", sort=True):
        mine = verdicts[verdicts["database"] == database]
        trusted = set(mine.loc[mine["verdict"] == "trusted", "subsystem"])
        untrusted = sorted(mine.loc[mine["verdict"] == "untrusted", "subsystem"])
        rows.append(row(database, facts, trusted, untrusted))
    if not used.empty:
        best = used.groupby("fact_id", sort=True).agg(
            agrees=("agrees", lambda s: bool(s.astype(bool).any())),
            role=("role", "first"),
            subsystem=("subsystem", "first"),
        )
        # best of: a subsystem is trusted when some database trusts it
        trusted_any = set(verdicts.loc[verdicts["verdict"] == "trusted", "subsystem"])
        all_untrusted = sorted(set(verdicts.loc[verdicts["verdict"] == "untrusted", "subsystem"]) - trusted_any)
        rows.append(row("best_of", best.reset_index(), trusted_any, all_untrusted))
    return pd.DataFrame(rows, columns=DATABASE_SUMMARY_SCHEMA.names)


def pair_trust(summary_df: pd.DataFrame) -> dict[tuple[str, str, str], bool]:
    """``(database, element_a, element_b) -> trusted`` from a pair summary (``element_a <= element_b``)."""
    missing = [c for c in ("database", "element_a", "element_b", "trusted") if c not in summary_df.columns]
    if missing:
        raise ValueError(f"pair summary lacks columns {missing}")
    return {
        (str(d), str(a), str(b)): bool(t)
        for d, a, b, t in summary_df[["database", "element_a", "element_b", "trusted"]].itertuples(index=False)
    }


def agreement_by_database(card: pd.DataFrame) -> pd.DataFrame:
    """Per database: counted (computable, not doubtful) facts, agreeing facts and the agreement rate (0-1)."""
    computable = counted(card)
    agrees = computable["agrees"].astype("int64")  # a boolean column would keep its sums boolean
    out = pd.DataFrame(
        {
            "n_facts": agrees.groupby(computable["database"]).size(),
            "n_agree": agrees.groupby(computable["database"]).sum(),
        }
    )
    out = out.astype("int64")
    out["agreement"] = out["n_agree"] / out["n_facts"]
    return out.rename_axis("database").reset_index()


def card_html(card: pd.DataFrame) -> str:
    """The report's tables: the per-database summary, the untrusted subsystems, every fact on every database."""

    def three_digits(x: float) -> str:
        return f"{x:.3f}"

    verdicts = subsystem_verdicts(card)
    summary = database_summary(card, verdicts)
    shown_summary = summary.assign(untrusted_subsystems=summary["untrusted_subsystems"].map(", ".join))
    untrusted = verdicts[verdicts["verdict"] == "untrusted"][["database", "subsystem", "reason"]]
    shown = card.astype({"agrees": "object"})
    shown["agrees"] = [("not computable" if pd.isna(a) else str(bool(a))) for a in card["agrees"]]
    shown["predicted"] = shown["predicted"].fillna("")
    return (
        "<h3>Per database (counted facts; best_of: any database)</h3>"
        + shown_summary.to_html(index=False, float_format=three_digits)
        + "<h3>Untrusted subsystems (failed detection facts)</h3>"
        + untrusted.to_html(index=False)
        + "<h3>Facts</h3>"
        + shown.to_html(index=False, float_format=three_digits)
    )


def facts_no_database_gets(card: pd.DataFrame) -> pd.DataFrame:
    """Counted facts that no database computing them gets right (one row per fact and database)."""
    computable = counted(card)
    right = computable.groupby("fact_id")["agrees"].agg(lambda s: bool(s.astype(bool).any()))
    wrong = right[~right].index
    return computable[computable["fact_id"].isin(wrong)].sort_values(["fact_id", "database"]).reset_index(drop=True)


def heat_map(summary: pd.DataFrame, elements: Sequence[str], path: str | Path) -> None:
    """Element x element agreement (0-1), one panel per database; grey where there is no computable fact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    elements = sorted({e.capitalize() for e in elements})
    index = {e: i for i, e in enumerate(elements)}
    databases = sorted(summary["database"].unique()) or ["(none)"]
    fig, axes = plt.subplots(
        1,
        len(databases),
        figsize=(0.45 * len(elements) * len(databases) + 2, 0.45 * len(elements) + 1.5),
        squeeze=False,
    )
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("lightgrey")
    image = None
    for ax, database in zip(axes[0], databases):
        grid = np.full((len(elements), len(elements)), np.nan)
        for row in summary[(summary["database"] == database) & (summary["n_facts"] > 0)].itertuples():
            if row.element_a in index and row.element_b in index:
                i, j = index[row.element_a], index[row.element_b]
                grid[i, j] = grid[j, i] = row.agreement
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(range(len(elements)), elements, rotation=90)
        ax.set_yticks(range(len(elements)), elements)
        ax.set_title(database)
    if image is not None:
        fig.colorbar(image, ax=list(axes[0]), label="share of facts agreeing", shrink=0.8)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def pairs_of(elements: Iterable[str]) -> list[tuple[str, str]]:
    """Every pure element and unordered pair of ``elements`` as ``(a, b)`` with ``a <= b``."""
    elements = sorted({e.capitalize() for e in elements})
    return [(e, e) for e in elements] + list(itertools.combinations(elements, 2))


def report_card_settings(block: Mapping) -> ReportCardSettings:
    """Typed settings from the validated config block ``report_card``."""
    return ReportCardSettings(
        structures={db: dict(phases) for db, phases in block["structures"].items()},
        min_phase_fraction=float(block["min_phase_fraction"]),
        min_agreement=float(block["min_agreement"]),
    )
