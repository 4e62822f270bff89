"""A database report card: how well each configured database reproduces known phase facts.

Coverage says whether a database *has* parameters for a pair of elements; the report card says
whether they give the right phases. Each fact of :mod:`alloypref.data` ``phase_facts.csv`` (facts
about nature from assessed phase diagrams and standard references, see ``phase_facts.md``) is solved
on each database through the scorer's own backend (:class:`PycalphadBackend.phase_table`, so the
BCC fix, the fine-grid ordering check and the per-database phase roles all apply) and compared with
what nature does.

Facts (``phase_facts.csv``, one row per fact):

================  ========  ================================================================
column            dtype     meaning
================  ========  ================================================================
``fact_id``       string    unique id, e.g. ``Al-Ni-b2-1273``
``kind``          string    one of :data:`FACT_KINDS` (informational; ``melting_point`` is
                            evaluated differently, see below)
``elements``      string    the fact's elements, sorted and joined by ``-`` (``Al-Ni``; ``Mo``)
``composition``   string    atomic percent, e.g. ``Al50Ni50``, ``Mo100``; sums to 100
``temperature_K`` float64   temperature of the fact (K); the melting point for ``melting_point``
``expected``      string    phase classes present at equilibrium, sorted and joined by ``+``
                            (``B2``, ``BCC+FCC``, ``FCC+OTHER``); ``LIQUID`` for ``melting_point``
``tolerance_K``   float64   ``melting_point`` only: solid at T - tolerance, liquid at T + tolerance
``source``        string    ``<key>:<system>``; the keys are expanded in ``phase_facts.md``
================  ========  ================================================================

Phase classes: ``BCC`` (disordered BCC), ``B2`` (ordered), ``LIQUID``, ``FCC``, ``HCP`` and ``OTHER``
(every other phase: Laves, sigma, aluminides, alpha-Mn ...). BCC, B2 and LIQUID come from the
database's ``phase_roles`` as in scoring; FCC and HCP from ``report_card.structures`` (phase name ->
class, per database), never from substrings of names. A fact agrees when the set of classes of the
phases present with at least ``min_phase_fraction`` equals ``expected``; a ``melting_point`` fact
agrees when no liquid is present at T - tolerance and only liquid at T + tolerance.

A fact with an element a database lacks is *not computable* there (``agrees`` null); a solve that
fails counts as a disagreement (a database that cannot answer is not trusted).
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from alloypref.calphad import confidence
from alloypref.calphad.backend import CalphadError
from alloypref.calphad.databases import database_elements
from alloypref.config_schema import schema_default

log = logging.getLogger(__name__)

FACT_KINDS = (
    "pure_structure",
    "melting_point",
    "b2_compound",
    "bcc_solid_solution",
    "fcc_solid_solution",
    "hcp_solid_solution",
    "intermetallic",
    "two_phase",
)
PHASE_CLASSES = ("B2", "BCC", "FCC", "HCP", "LIQUID", "OTHER")
FACT_COLUMNS = ("fact_id", "kind", "elements", "composition", "temperature_K", "expected", "tolerance_K", "source")

#: Structure labels the table's ``structure`` column carries for BCC-type and liquid phases.
_ROLE_CLASSES = {"BCC": "BCC", "B2": "B2", "LIQUID": "LIQUID"}

REPORT_CARD_SCHEMA = pa.schema(
    [
        ("fact_id", pa.string()),
        ("database", pa.string()),
        ("element_a", pa.string()),
        ("element_b", pa.string()),
        ("kind", pa.string()),
        ("composition", pa.string()),
        ("temperature_K", pa.float64()),
        ("expected", pa.string()),
        ("agrees", pa.bool_()),  # null: not computable on this database
        ("predicted", pa.string()),  # phases present, "+"-joined; "BELOW / ABOVE" for melting points
        ("status", pa.string()),  # ok | not_computable | failed: <reason>
        ("source", pa.string()),
    ]
)
"""One row per fact x database. ``element_a <= element_b``; equal for pure-element facts."""

# The per-pair summary's schema has one home: the module that reads it to choose databases.
PAIR_SUMMARY_SCHEMA = confidence.PAIR_SUMMARY_SCHEMA
"""One row per database x element pair (or pure element) with facts: ``n_facts`` computable facts,
``n_agree`` of them agreeing, ``agreement = n_agree / n_facts`` (0-1; NaN when ``n_facts`` is 0) and
``trusted`` = ``n_facts > 0`` and ``agreement >= min_agreement`` (default 1: every fact agrees)."""


class FactsError(ValueError):
    """A facts file that cannot be used; the message names the file, line and column."""


_COMPOSITION = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?)")


def parse_composition(text: str) -> dict[str, float]:
    """``Al50Ni50`` (atomic percent) -> ``{"Al": 0.5, "Ni": 0.5}`` (atomic fractions)."""
    parts = _COMPOSITION.findall(text)
    if not parts or "".join(e + n for e, n in parts) != text:
        raise ValueError(f"composition {text!r} is not of the form Al50Ni50 (atomic percent)")
    percents: dict[str, float] = {}
    for element, number in parts:
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
    """Read and check a facts file (columns in the module docstring); errors name file, line and column."""
    path = Path(path) if path is not None else default_facts_path()
    if not path.is_file():
        raise FactsError(f"facts file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != FACT_COLUMNS:
            raise FactsError(f"{path}: header must be {','.join(FACT_COLUMNS)}, got {reader.fieldnames}")
        rows, seen = [], {}
        for line, row in enumerate(reader, start=2):
            rows.append(_checked_fact(row, f"{path}, line {line}", seen, line))
    if not rows:
        raise FactsError(f"{path}: no facts")
    frame = pd.DataFrame(rows, columns=list(FACT_COLUMNS))
    return frame.astype({"temperature_K": "float64", "tolerance_K": "float64"})


def _checked_fact(row: Mapping[str, str], where: str, seen: dict[str, int], line: int) -> dict:
    def fail(column: str, message: str) -> FactsError:
        return FactsError(f"{where}, column {column}: {message}")

    fact_id = row["fact_id"].strip()
    if not fact_id:
        raise fail("fact_id", "empty")
    if fact_id in seen:
        raise fail("fact_id", f"{fact_id!r} repeats (first on line {seen[fact_id]})")
    seen[fact_id] = line
    if row["kind"] not in FACT_KINDS:
        raise fail("kind", f"{row['kind']!r} is not one of {list(FACT_KINDS)}")
    try:
        fractions = parse_composition(row["composition"])
    except ValueError as exc:
        raise fail("composition", str(exc)) from None
    elements = row["elements"].split("-")
    if elements != sorted(fractions) or len(elements) > 2:
        raise fail(
            "elements", f"{row['elements']!r} must be the composition's one or two elements, sorted and joined by '-'"
        )
    try:
        temperature = float(row["temperature_K"])
    except ValueError:
        raise fail("temperature_K", f"{row['temperature_K']!r} is not a number") from None
    if not temperature > 0:
        raise fail("temperature_K", f"{temperature} must be > 0")
    expected = row["expected"].split("+")
    if any(e not in PHASE_CLASSES for e in expected) or expected != sorted(set(expected)):
        raise fail("expected", f"{row['expected']!r}: classes of {list(PHASE_CLASSES)}, sorted, joined by '+'")
    tolerance = float("nan")
    if row["kind"] == "melting_point":
        if row["expected"] != "LIQUID" or len(fractions) != 1:
            raise fail("expected", "a melting_point fact is about one element and expects LIQUID")
        try:
            tolerance = float(row["tolerance_K"])
        except ValueError:
            raise fail("tolerance_K", f"{row['tolerance_K']!r}: a melting_point fact needs a tolerance (K)") from None
        if not 0 < tolerance < temperature:
            raise fail("tolerance_K", f"{tolerance} must be > 0 and below the temperature")
    elif row["tolerance_K"].strip():
        raise fail("tolerance_K", "only melting_point facts take a tolerance")
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
        structures: database name -> {phase name: ``FCC`` or ``HCP``}; phases that are neither
            BCC-type, liquid nor listed here are ``OTHER``.
        min_phase_fraction: phases below this mole fraction (0-1) are ignored in the comparison.
        min_agreement: a pair is trusted when it has facts and at least this share agree (0-1).
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
    """``LAVES+LIQUID``: the class for BCC/B2/FCC/HCP/LIQUID phases, the database's name otherwise."""
    names = {cls if cls != "OTHER" else key for key, cls in phases.items()}
    return "+".join(sorted(names)) if names else "NONE"


def _temperatures(fact: Mapping) -> tuple[float, ...]:
    if fact["kind"] == "melting_point":
        return (fact["temperature_K"] - fact["tolerance_K"], fact["temperature_K"] + fact["tolerance_K"])
    return (fact["temperature_K"],)


def judge(fact: Mapping, tables: Mapping[float, pd.DataFrame], structures: Mapping[str, str], min_fraction: float):
    """``(agrees, predicted)`` of one fact from its phase tables (temperature -> rows)."""
    phases = [present_phases(tables[t], structures, min_fraction) for t in _temperatures(fact)]
    if fact["kind"] == "melting_point":
        below, above = phases
        agrees = "LIQUID" not in below.values() and set(above.values()) == {"LIQUID"}
        return bool(agrees and below), f"{_describe(below)} / {_describe(above)}"
    (present,) = phases
    return set(present.values()) == set(fact["expected"].split("+")), _describe(present)


def evaluate(facts: pd.DataFrame, backend, settings: ReportCardSettings | None = None, progress=None) -> pd.DataFrame:
    """Every fact on every database of ``backend`` (a :class:`PycalphadBackend`): the report card.

    Facts of one composition are solved together (one ``phase_table`` call per database and
    composition, all their temperatures at once), so each compiled system is built once.
    ``progress``, if given, is called with the number of facts just finished on a database.
    """
    settings = settings or ReportCardSettings()
    rows: list[dict] = []
    for database in backend.specs:
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
                element_a, element_b = _pair(fact["elements"])
                rows.append(
                    {
                        "fact_id": fact["fact_id"],
                        "database": database,
                        "element_a": element_a,
                        "element_b": element_b,
                        "kind": fact["kind"],
                        "composition": composition,
                        "temperature_K": fact["temperature_K"],
                        "expected": fact["expected"],
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
    return card.sort_values(["database", "element_a", "element_b", "fact_id"]).reset_index(drop=True)


def _pair(elements: str) -> tuple[str, str]:
    parts = elements.split("-")
    return (parts[0], parts[-1])


def pair_summary(
    card: pd.DataFrame,
    min_agreement: float = 1.0,
    elements: Iterable[str] | None = None,
    databases: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per database and element pair: computable facts, agreeing facts, agreement, trusted (schema above).

    With ``elements`` and ``databases``, every pure element and pair of ``elements`` gets a row on
    every database, those without a computable fact with ``n_facts`` 0 (never trusted), so a reader
    finds each pair of the design space.
    """
    rows = []
    for (database, element_a, element_b), group in card.groupby(["database", "element_a", "element_b"], sort=True):
        computable = group["agrees"].notna()
        n_facts = int(computable.sum())
        n_agree = int(group.loc[computable, "agrees"].astype(bool).sum())
        agreement = n_agree / n_facts if n_facts else float("nan")
        rows.append(
            {
                "database": database,
                "element_a": element_a,
                "element_b": element_b,
                "n_facts": n_facts,
                "n_agree": n_agree,
                "agreement": agreement,
                "trusted": bool(n_facts > 0 and agreement >= min_agreement - 1e-12),
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
    """Per database: computable facts, agreeing facts and the agreement rate (0-1)."""
    computable = card[card["agrees"].notna()]
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
    """The report's table: agreement per database, then every fact on every database."""

    def three_digits(x: float) -> str:
        return f"{x:.3f}"

    rates = agreement_by_database(card)
    shown = card.astype({"agrees": "object"})
    shown["agrees"] = [("not computable" if pd.isna(a) else str(bool(a))) for a in card["agrees"]]
    shown["predicted"] = shown["predicted"].fillna("")
    return (
        "<h3>Agreement per database</h3>"
        + rates.to_html(index=False, float_format=three_digits)
        + "<h3>Facts</h3>"
        + shown.to_html(index=False, float_format=three_digits)
    )


def facts_no_database_gets(card: pd.DataFrame) -> pd.DataFrame:
    """Facts that no database computing them gets right (one row per fact and database)."""
    computable = card[card["agrees"].notna()]
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
