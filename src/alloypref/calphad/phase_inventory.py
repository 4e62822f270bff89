"""Phase inventories: which phases compete with BCC/B2 in nature, and which of them a database models.

Coverage of BCC parameters says nothing about trust: mc_ni holds every BCC parameter of Cr-Hf yet
computes Cr66.67Hf33.33 as 100 % BCC at 1273 K, because it has no Laves phase with Hf. This module
compares two package data files:

* ``data/phase_inventory.csv`` — the stable intermediate phases of the assessed diagrams (one row per
  phase; columns in ``data/phase_inventory.md``), for every pair of the paper-scale elements (and Ru
  where known) plus ternary compounds that compete (Heusler L2_1 Ni2AlTi ...). A pair with no
  intermediate phase has one ``none`` row, so "none known" differs from "not listed".
* ``data/database_phase_kinds.csv`` — per shipped TDB file, the :class:`PhaseKind` of every phase
  whose constituents hold two or more inventory elements. Kinds come from this map only, never from
  substrings of phase names (COST507's ``B2TI`` is a boride).

An inventory phase is *modelled* by a database when some database phase of the same kind family
(:func:`kind_family`: the Laves polytypes C14/C15/C36 form one family) has the system's elements
among its constituents and a G or L parameter whose elements are exactly the system's; a ``b2``
phase further needs the elements on different sublattices (an ordering parameter, as in
:func:`alloypref.calphad.databases.pair_coverage`); a phase of a fixed-stoichiometry kind needs an
end member (or the kind map's formula) within :data:`COMPOSITION_TOLERANCE` of the inventory's
composition range. Ternary compounds are modelled only by parameters with all three elements.

Tables written by the rule ``phase_inventory`` (:data:`PHASE_CHECK_SCHEMA`,
:data:`INVENTORY_STATUS_SCHEMA`) and :func:`missing_near`, which the trust rules call, are below.
Compositions are mole fractions, temperatures kelvin.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from alloypref.calphad.databases import DatabaseError, DatabaseSettings, database_elements
from alloypref.calphad.ordering import NOT_ELEMENTS
from alloypref.calphad.tables import PhaseRole
from alloypref.composition import FormulaError, parse_formula


class PhaseKind(str, Enum):
    """Controlled vocabulary of phase kinds (Strukturbericht or family names), shared by both files."""

    NONE = "none"  # inventory only: the pair has no intermediate phase
    LAVES_C14 = "laves_c14"  # MgZn2
    LAVES_C15 = "laves_c15"  # MgCu2
    LAVES_C36 = "laves_c36"  # MgNi2
    SIGMA = "sigma"
    MU = "mu"  # Fe7W6
    CHI = "chi"  # alpha-Mn type, in Fe-Cr-Mo
    R_PHASE = "r_phase"
    P_PHASE = "p_phase"
    A15 = "a15"  # Cr3Si
    B2 = "b2"  # CsCl, ordered BCC
    L2_1 = "l2_1"  # Heusler Cu2MnAl
    D0_3 = "d0_3"  # BiF3 (Fe3Al)
    L1_2 = "l1_2"  # Cu3Au (Ni3Al)
    L1_0 = "l1_0"  # CuAu (TiAl)
    D0_19 = "d0_19"  # Ni3Sn (Ti3Al)
    D0_22 = "d0_22"  # TiAl3
    D0_23 = "d0_23"  # ZrAl3
    D0_24 = "d0_24"  # Ni3Ti
    D0_A = "d0_a"  # Cu3Ti (Ni3Nb)
    C11B = "c11b"  # MoSi2 (AlCr2)
    INTERMETALLIC = "intermetallic"  # any other compound; matched by composition
    # database only: the matrix, terminal solutions and compounds with non-metals
    BCC = "bcc"
    FCC = "fcc"
    HCP = "hcp"
    LIQUID = "liquid"
    TERMINAL_SOLUTION = "terminal_solution"  # alpha-/beta-Mn, A4, A5 ...
    NONMETAL_COMPOUND = "nonmetal_compound"  # carbides, borides, nitrides, oxides, sulfides, silicides

    def __str__(self) -> str:
        return self.value


#: Kinds an inventory row may name (phases that compete with BCC/B2, and ``none``).
INVENTORY_KINDS = frozenset(PhaseKind) - {
    PhaseKind.BCC,
    PhaseKind.FCC,
    PhaseKind.HCP,
    PhaseKind.LIQUID,
    PhaseKind.TERMINAL_SOLUTION,
    PhaseKind.NONMETAL_COMPOUND,
}
#: Kinds whose composition is not fixed by the structure (wide solutions, several end members far
#: apart): matched without the composition check.
_FREE_COMPOSITION_KINDS = frozenset(
    {PhaseKind.SIGMA, PhaseKind.MU, PhaseKind.CHI, PhaseKind.R_PHASE, PhaseKind.P_PHASE, PhaseKind.B2}
)
_LAVES = frozenset({PhaseKind.LAVES_C14, PhaseKind.LAVES_C15, PhaseKind.LAVES_C36})

#: The paper-scale elements and Ru: the only elements an inventory row may name.
INVENTORY_ELEMENTS = frozenset("Al Co Cr Fe Hf Mn Mo Nb Ni Ru Ta Ti V W Zr".split())

#: How far (mole fraction of the second element; Chebyshev distance for ternaries) a database phase's
#: end member or formula may lie outside an inventory phase's composition range and still model it.
#: Only the rounding of site ratios (0.83333 for Ni5Hf) is tolerated: line compounds of one system
#: can lie 0.015-0.03 apart (Al4Zr5 0.556 and Al3Zr4 0.571; Ni7Hf2 0.778 and Ni3Hf 0.75).
COMPOSITION_TOLERANCE = 0.01

#: Default of :func:`missing_near`'s ``near`` (mole fraction). Lever rule: a compound at x_c coexists
#: with the terminal solution over the whole two-phase field, so Cr95Hf5 (x_Hf = 0.05, 0.28 from
#: HfCr2 at 0.33) holds ~15 % Laves; 0.3 catches it, while Cr99Hf1 (0.32 away, ~3 % Laves) is not
#: flagged.
DEFAULT_NEAR = 0.3
#: Default of :func:`missing_near`'s ``min_fraction``: a subsystem counts only when each of its
#: elements has at least this mole fraction (1 at.% Hf in Cr gives ~3 % Laves at most).
DEFAULT_MIN_FRACTION = 0.02

INVENTORY_COLUMNS = (
    "system",
    "phase_kind",
    "phase",
    "prototype",
    "x_min",
    "x_max",
    "T_min_K",
    "T_max_K",
    "source",
    "confirmed",
    "note",
)
KIND_MAP_COLUMNS = ("tdb", "phase", "kind", "formula", "note")
CONFIRMED_VALUES = ("confirmed", "unconfirmed")

#: One row per (database, inventory phase):
#:
#: ===================  ========  ===========================================================
#: column               dtype     meaning
#: ===================  ========  ===========================================================
#: ``database``         string    configured database name
#: ``system``           string    elements, sorted, ``-``-joined (``Cr-Hf``)
#: ``phase_kind``       string    :class:`PhaseKind` value
#: ``phase``            string    formula of the inventory phase (``Cr2Hf``)
#: ``x_min``/``x_max``  float64   range of the second element's mole fraction (NaN: ternary)
#: ``T_min_K``          float64   lowest temperature of stability (K)
#: ``T_max_K``          float64   highest temperature of stability (K)
#: ``confirmed``        bool      the inventory row was read in its source
#: ``source``           string    the inventory row's source
#: ``in_database``      bool      the database holds every element of the system
#: ``phase_exists``     bool      the database has a phase of the same kind family
#: ``has_constituents`` bool      ... with all the system's elements among its constituents
#: ``has_parameters``   bool      ... and G or L parameters of exactly those elements
#: ``modelled``         bool      ... and those parameters fit the phase: for b2 the elements on
#:                                different sublattices; for a fixed-stoichiometry kind an end
#:                                member (or the kind map's formula) within the tolerance of the
#:                                inventory's composition
#: ``database_phases``  string    database phases that model it, ``+``-joined ('' if none)
#: ===================  ========  ===========================================================
#: The bool columns hold no missing values (a missing one would read as True).
PHASE_CHECK_SCHEMA = pa.schema(
    [
        ("database", pa.string()),
        ("system", pa.string()),
        ("phase_kind", pa.string()),
        ("phase", pa.string()),
        ("x_min", pa.float64()),
        ("x_max", pa.float64()),
        ("T_min_K", pa.float64()),
        ("T_max_K", pa.float64()),
        pa.field("confirmed", pa.bool_(), nullable=False),
        ("source", pa.string()),
        pa.field("in_database", pa.bool_(), nullable=False),
        pa.field("phase_exists", pa.bool_(), nullable=False),
        pa.field("has_constituents", pa.bool_(), nullable=False),
        pa.field("has_parameters", pa.bool_(), nullable=False),
        pa.field("modelled", pa.bool_(), nullable=False),
        ("database_phases", pa.string()),
    ]
)


class InventoryStatus(str, Enum):
    """Status of a (database, system)."""

    MODELLED = "modelled"  # every known competing phase modelled
    MISSING = "missing"  # some known competing phase absent or without parameters
    NONE_KNOWN = "none_known"  # the assessed diagram has no intermediate phase
    NOT_LISTED = "not_listed"  # the inventory has no row for the pair
    ELEMENTS_ABSENT = "elements_absent"  # the database lacks an element of the system

    def __str__(self) -> str:
        return self.value


#: One row per (database, system): every pair of :data:`INVENTORY_ELEMENTS` and every ternary of the
#: inventory. ``n_phases``: competing inventory phases; ``n_modelled``: those the database models;
#: ``missing``: the others as ``kind formula`` joined by ``; ``; ``modelled_by``: database phases used.
INVENTORY_STATUS_SCHEMA = pa.schema(
    [
        ("database", pa.string()),
        ("system", pa.string()),
        ("n_elements", pa.int64()),
        ("status", pa.string()),
        ("n_phases", pa.int64()),
        ("n_modelled", pa.int64()),
        ("missing", pa.string()),
        ("modelled_by", pa.string()),
    ]
)


class PhaseInventoryError(ValueError):
    """An inventory or kind-map file that cannot be used; the message names file, line and value."""


def kind_family(kind: PhaseKind | str) -> str:
    """The family two kinds must share for one to model the other (``laves`` for C14/C15/C36)."""
    kind = PhaseKind(kind)
    return "laves" if kind in _LAVES else kind.value


def default_inventory_path() -> Path:
    return Path(str(resources.files("alloypref.data").joinpath("phase_inventory.csv")))


def default_kind_map_path() -> Path:
    return Path(str(resources.files("alloypref.data").joinpath("database_phase_kinds.csv")))


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise PhaseInventoryError(f"{path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise PhaseInventoryError(f"{path}: header must be {','.join(columns)}, got {reader.fieldnames}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise PhaseInventoryError(
                    f"{path}, line {line}: {len(columns)} fields expected (quote a field holding commas)"
                )
            rows.append((line, {k: v.strip() for k, v in row.items()}))
    if not rows:
        raise PhaseInventoryError(f"{path}: no rows")
    return rows


def _kind(value: str, allowed: Iterable[PhaseKind], column: str, fail) -> PhaseKind:
    names = sorted(k.value for k in allowed)
    if value not in names:
        raise fail(column, f"{value!r} is not one of {names}")
    return PhaseKind(value)


def _number(row: Mapping[str, str], column: str, fail, *, blank_ok: bool = False) -> float:
    text = row[column]
    if not text:
        if blank_ok:
            return math.nan
        raise fail(column, "empty")
    try:
        value = float(text)
    except ValueError:
        raise fail(column, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise fail(column, f"{text!r} is not finite")
    return value


def load_inventory(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check a phase inventory; every error names the file, line, column and value.

    Returns the columns of :data:`INVENTORY_COLUMNS` (``confirmed`` as bool, numbers as float64, NaN
    where blank) plus ``n_elements``.
    """
    path = Path(path) if path is not None else default_inventory_path()
    rows = []
    kinds_by_system: dict[str, list[tuple[int, PhaseKind]]] = {}
    for line, row in _read_rows(path, INVENTORY_COLUMNS):

        def fail(column: str, message: str, line=line) -> PhaseInventoryError:
            return PhaseInventoryError(f"{path}, line {line}, column {column}: {message}")

        elements = row["system"].split("-")
        unknown = [e for e in elements if e not in INVENTORY_ELEMENTS]
        if unknown:
            raise fail(
                "system", f"{row['system']!r} names unknown element(s) {unknown}; known: {sorted(INVENTORY_ELEMENTS)}"
            )
        if elements != sorted(set(elements)) or not 2 <= len(elements) <= 3:
            raise fail("system", f"{row['system']!r}: two or three distinct elements, sorted, joined by '-'")
        kind = _kind(row["phase_kind"], INVENTORY_KINDS, "phase_kind", fail)
        record = dict(row)
        record["n_elements"] = len(elements)
        if kind == PhaseKind.NONE:
            filled = [c for c in ("phase", "prototype", "x_min", "x_max", "T_min_K", "T_max_K") if row[c]]
            if filled:
                raise fail(filled[0], f"a 'none' row leaves {filled} empty")
            record.update(x_min=math.nan, x_max=math.nan, T_min_K=math.nan, T_max_K=math.nan)
        else:
            try:
                fractions = parse_formula(row["phase"])
            except FormulaError as exc:
                raise fail("phase", str(exc)) from None
            if sorted(fractions) != elements:
                raise fail("phase", f"{row['phase']!r} must hold exactly the elements of {row['system']!r}")
            binary = len(elements) == 2
            x_min = _number(row, "x_min", fail, blank_ok=not binary)
            x_max = _number(row, "x_max", fail, blank_ok=not binary)
            if binary and not 0.0 <= x_min <= x_max <= 1.0:
                raise fail("x_max", f"need 0 <= x_min ({x_min}) <= x_max ({x_max}) <= 1")
            if not binary and not (math.isnan(x_min) and math.isnan(x_max)):
                raise fail("x_min", "a ternary row gives its composition by its formula; leave x_min/x_max empty")
            t_min = _number(row, "T_min_K", fail)
            t_max = _number(row, "T_max_K", fail)
            if not 0.0 < t_min <= t_max:
                raise fail("T_max_K", f"need 0 < T_min_K ({t_min}) <= T_max_K ({t_max})")
            record.update(x_min=x_min, x_max=x_max, T_min_K=t_min, T_max_K=t_max)
        if ":" not in row["source"]:
            raise fail("source", f"{row['source']!r}: write '<reference key>:<system> ...'")
        if row["confirmed"] not in CONFIRMED_VALUES:
            raise fail("confirmed", f"{row['confirmed']!r} is not one of {list(CONFIRMED_VALUES)}")
        record["confirmed"] = row["confirmed"] == "confirmed"
        kinds_by_system.setdefault(row["system"], []).append((line, kind))
        rows.append(record)
    for system, entries in kinds_by_system.items():
        if any(k == PhaseKind.NONE for _, k in entries) and len(entries) > 1:
            lines = [line for line, _ in entries]
            raise PhaseInventoryError(f"{path}, lines {lines}: system {system!r} has a 'none' row and other rows")
    frame = pd.DataFrame(rows, columns=[*INVENTORY_COLUMNS, "n_elements"])
    return frame.astype({c: "float64" for c in ("x_min", "x_max", "T_min_K", "T_max_K")})


@dataclass(frozen=True)
class DatabasePhaseKind:
    """A database phase's kind and, optionally, the compound formula it was assessed for."""

    kind: PhaseKind
    formula: Mapping[str, float] | None = None


def load_kind_map(path: str | Path | None = None) -> dict[str, dict[str, DatabasePhaseKind]]:
    """Read ``database_phase_kinds.csv``: TDB file name -> phase name -> :class:`DatabasePhaseKind`."""
    path = Path(path) if path is not None else default_kind_map_path()
    result: dict[str, dict[str, DatabasePhaseKind]] = {}
    for line, row in _read_rows(path, KIND_MAP_COLUMNS):

        def fail(column: str, message: str, line=line) -> PhaseInventoryError:
            return PhaseInventoryError(f"{path}, line {line}, column {column}: {message}")

        if not row["tdb"] or not row["phase"]:
            raise fail("tdb" if not row["tdb"] else "phase", "empty")
        kind = _kind(row["kind"], set(PhaseKind) - {PhaseKind.NONE}, "kind", fail)
        formula = None
        if row["formula"]:
            try:
                formula = parse_formula(row["formula"])
            except FormulaError as exc:
                raise fail("formula", str(exc)) from None
        phases = result.setdefault(row["tdb"], {})
        if row["phase"] in phases:
            raise fail("phase", f"{row['phase']!r} repeats for {row['tdb']!r}")
        phases[row["phase"]] = DatabasePhaseKind(kind, formula)
    return result


def _phase_elements(phase) -> set[str]:
    return {str(s.name).capitalize() for subl in phase.constituents for s in subl} & INVENTORY_ELEMENTS


def phase_kinds(dbf, spec: DatabaseSettings, kind_map: Mapping[str, Mapping[str, DatabasePhaseKind]] | None = None):
    """The kind of every phase of ``dbf`` that holds two or more inventory elements.

    Raises :class:`DatabaseError` naming the TDB file and phase when the map has no entry for the
    file, misses such a phase, names a phase the database lacks, or contradicts the configured
    ``phase_roles`` (a ``b2`` role must be kind b2, ``liquid`` liquid, ``bcc_like`` bcc or b2).
    """
    kind_map = load_kind_map() if kind_map is None else kind_map
    tdb = spec.resolved_path.name
    if tdb not in kind_map:
        raise DatabaseError(f"database {spec.name!r}: no phase kinds for {tdb!r} in {default_kind_map_path().name}")
    kinds = kind_map[tdb]
    unknown = sorted(set(kinds) - set(dbf.phases))
    if unknown:
        raise DatabaseError(f"database {spec.name!r} ({tdb}): the phase-kind map names phases it lacks: {unknown}")
    unmapped = sorted(
        name for name, phase in dbf.phases.items() if len(_phase_elements(phase)) >= 2 and name not in kinds
    )
    if unmapped:
        raise DatabaseError(
            f"database {spec.name!r} ({tdb}): phases with two or more inventory elements have no kind in "
            f"{default_kind_map_path().name}: {unmapped}"
        )
    allowed = {
        PhaseRole.B2: {PhaseKind.B2},
        PhaseRole.LIQUID: {PhaseKind.LIQUID},
        PhaseRole.BCC_LIKE: {PhaseKind.BCC, PhaseKind.B2},
    }
    for name in spec.phase_roles:
        role = spec.role(name)
        entry = kinds.get(name)
        if role in allowed and (entry is None or entry.kind not in allowed[role]):
            raise DatabaseError(
                f"database {spec.name!r} ({tdb}): phase {name!r} has role {role.value!r} but kind "
                f"{entry.kind.value if entry else None!r}; expected one of {sorted(k.value for k in allowed[role])}"
            )
    return dict(kinds)


@dataclass(frozen=True)
class _Parameter:
    elements: frozenset[str]
    sublattices: tuple[frozenset[str], ...]
    composition: dict[str, float] | None  # end member composition (one species per sublattice)


def _parameters_by_phase(dbf) -> dict[str, list[_Parameter]]:
    """G and L parameters per phase, with their inventory elements and end-member composition."""
    ratios = {name: phase.sublattices for name, phase in dbf.phases.items()}
    result: dict[str, list[_Parameter]] = {}
    for param in dbf._parameters.all():
        if param["parameter_type"] not in ("G", "L") or param["phase_name"] not in dbf.phases:
            continue
        subls = [frozenset(str(s.name).capitalize() for s in subl) for subl in param["constituent_array"]]
        species = {s for s in set().union(*subls) if s.upper() not in NOT_ELEMENTS}
        elements = frozenset(species & INVENTORY_ELEMENTS)
        if len(elements) < 2 or species - INVENTORY_ELEMENTS:
            continue
        composition = None
        if param["parameter_type"] == "G" and all(len(s) == 1 for s in subls):
            amounts: dict[str, float] = {}
            for subl, ratio in zip(subls, ratios[param["phase_name"]], strict=False):
                (name,) = subl
                if name in elements:
                    amounts[name] = amounts.get(name, 0.0) + float(ratio)
            total = sum(amounts.values())
            composition = {e: a / total for e, a in amounts.items()}
        result.setdefault(param["phase_name"], []).append(
            _Parameter(elements, tuple(s & INVENTORY_ELEMENTS for s in subls), composition)
        )
    return result


def _distance(composition: Mapping[str, float], row) -> float:
    """Distance (mole fraction) of a composition of the row's elements from the row's composition."""
    elements = row.system.split("-")
    total = sum(composition.get(e, 0.0) for e in elements)
    if total <= 0:
        return math.inf
    projected = {e: composition.get(e, 0.0) / total for e in elements}
    if len(elements) == 2:
        x = projected[elements[1]]
        return max(0.0, row.x_min - x, x - row.x_max)
    point = parse_formula(row.phase)
    return max(abs(projected[e] - point[e]) for e in elements)


def _models(row, entry: DatabasePhaseKind, params: list[_Parameter], tolerance: float) -> bool:
    system = frozenset(row.system.split("-"))
    own = [p for p in params if p.elements == system]
    if not own:
        return False
    kind = PhaseKind(row.phase_kind)
    if kind == PhaseKind.B2:
        return any(
            len(p.sublattices) >= 2
            and p.sublattices[0]
            and p.sublattices[1]
            and p.sublattices[0] != p.sublattices[1]
            and (p.sublattices[0] | p.sublattices[1]) == system
            for p in own
        )
    if kind in _FREE_COMPOSITION_KINDS:
        return True
    compositions = [p.composition for p in own if p.composition is not None]
    if entry.formula is not None and set(entry.formula) == system:
        compositions.append(dict(entry.formula))
    return any(_distance(c, row) <= tolerance for c in compositions)


def check_database(
    dbf,
    spec: DatabaseSettings,
    inventory: pd.DataFrame | None = None,
    kind_map: Mapping[str, Mapping[str, DatabasePhaseKind]] | None = None,
    tolerance: float = COMPOSITION_TOLERANCE,
) -> pd.DataFrame:
    """Whether ``dbf`` models each competing inventory phase (:data:`PHASE_CHECK_SCHEMA` rows)."""
    inventory = load_inventory() if inventory is None else inventory
    kinds = phase_kinds(dbf, spec, kind_map)
    params = _parameters_by_phase(dbf)
    held = database_elements(dbf)
    records = []
    for row in inventory[inventory["phase_kind"] != PhaseKind.NONE.value].itertuples(index=False):
        system = set(row.system.split("-"))
        family = kind_family(row.phase_kind)
        same = sorted(name for name, entry in kinds.items() if kind_family(entry.kind) == family)
        holding = [name for name in same if system <= _phase_elements(dbf.phases[name])]
        with_params = [name for name in holding if params.get(name) and any(p.elements == system for p in params[name])]
        modelling = [name for name in with_params if _models(row, kinds[name], params[name], tolerance)]
        records.append(
            {
                "database": spec.name,
                "system": row.system,
                "phase_kind": row.phase_kind,
                "phase": row.phase,
                "x_min": row.x_min,
                "x_max": row.x_max,
                "T_min_K": row.T_min_K,
                "T_max_K": row.T_max_K,
                "confirmed": bool(row.confirmed),
                "source": row.source,
                "in_database": system <= held,
                "phase_exists": bool(same),
                "has_constituents": bool(holding),
                "has_parameters": bool(with_params),
                "modelled": bool(modelling),
                "database_phases": "+".join(modelling),
            }
        )
    return pd.DataFrame(records, columns=PHASE_CHECK_SCHEMA.names)


def inventory_status(
    checks: pd.DataFrame, inventory: pd.DataFrame, database: str, elements_held: Iterable[str]
) -> pd.DataFrame:
    """Per (database, system) status (:data:`INVENTORY_STATUS_SCHEMA`) for every pair of
    :data:`INVENTORY_ELEMENTS` and every ternary in the inventory."""
    held = {e.capitalize() for e in elements_held}
    pairs = {"-".join(p) for p in itertools.combinations(sorted(INVENTORY_ELEMENTS), 2)}
    systems = sorted(pairs | set(inventory["system"]), key=lambda s: (s.count("-"), s))
    none_known = set(inventory.loc[inventory["phase_kind"] == PhaseKind.NONE.value, "system"])
    mine = checks[checks["database"] == database]
    records = []
    for system in systems:
        rows = mine[mine["system"] == system]
        n_modelled = int(rows["modelled"].sum())
        missing = rows[~rows["modelled"].astype(bool)]
        if not set(system.split("-")) <= held:
            status = InventoryStatus.ELEMENTS_ABSENT
        elif system in none_known:
            status = InventoryStatus.NONE_KNOWN
        elif rows.empty:
            status = InventoryStatus.NOT_LISTED
        else:
            status = InventoryStatus.MODELLED if missing.empty else InventoryStatus.MISSING
        records.append(
            {
                "database": database,
                "system": system,
                "n_elements": system.count("-") + 1,
                "status": status.value,
                "n_phases": len(rows),
                "n_modelled": n_modelled,
                "missing": "; ".join(f"{r.phase_kind} {r.phase}" for r in missing.itertuples()),
                "modelled_by": "+".join(sorted({p for s in rows["database_phases"] for p in s.split("+") if p})),
            }
        )
    return pd.DataFrame(records, columns=INVENTORY_STATUS_SCHEMA.names)


def missing_near(
    checks: pd.DataFrame,
    database: str,
    composition: Mapping[str, float],
    temperatures_K: Sequence[float],
    *,
    near: float = DEFAULT_NEAR,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> pd.DataFrame:
    """Known competing phases ``database`` lacks near a candidate's composition and temperatures.

    A phase of subsystem S (a pair or an inventory ternary) is returned when every element of S has a
    mole fraction >= ``min_fraction`` in ``composition``, the database holds S's elements but does not
    model the phase, some temperature of ``temperatures_K`` (K) lies in [T_min_K, T_max_K], and the
    candidate projected onto S (its S elements renormalised to sum 1) lies within ``near`` of the
    phase: for a pair, of the range [x_min, x_max] of the second element; for a ternary, of the
    formula's point (largest difference of any element's fraction). Returns the rows of ``checks``
    with a ``distance`` column, nearest first.
    """
    if not 0 <= near <= 1 or not 0 <= min_fraction <= 1:
        raise ValueError(f"near ({near}) and min_fraction ({min_fraction}) must lie in [0, 1]")
    fractions = {e.capitalize(): float(x) for e, x in composition.items()}
    present = {e for e, x in fractions.items() if x >= min_fraction}
    temperatures = [float(t) for t in temperatures_K]
    rows = checks[(checks["database"] == database) & checks["in_database"] & ~checks["modelled"].astype(bool)]
    keep, distances = [], []
    for index, row in zip(rows.index, rows.itertuples(index=False), strict=True):
        if not set(row.system.split("-")) <= present:
            continue
        if not any(row.T_min_K <= t <= row.T_max_K for t in temperatures):
            continue
        distance = _distance(fractions, row)
        if distance <= near:
            keep.append(index)
            distances.append(distance)
    result = rows.loc[keep].assign(distance=distances)
    return result.sort_values(["distance", "system"], kind="stable").reset_index(drop=True)


def inventory_html(status: pd.DataFrame, checks: pd.DataFrame) -> str:
    """A page a person can read: counts per database, the database x system grid, then every phase."""
    counts = status.pivot_table(index="database", columns="status", values="system", aggfunc="count", fill_value=0)
    grid = status.assign(
        cell=[s if not m else f"{s}: {m}" for s, m in zip(status["status"], status["missing"], strict=True)]
    ).pivot(index="system", columns="database", values="cell")
    order = sorted(grid.index, key=lambda s: (s.count("-"), s))
    shown = checks.drop(columns=["modelled"]).copy()
    return (
        "<h3>Systems per status</h3>"
        + counts.to_html()
        + "<h3>Database x system</h3><p>missing: kind and formula of each known competing phase the database "
        "does not model; elements_absent: the database lacks an element</p>"
        + grid.loc[order].to_html()
        + "<h3>Every inventory phase on every database</h3>"
        + shown.to_html(index=False, float_format=lambda x: f"{x:.3f}")
    )


def inventory_tables(
    databases: Iterable[tuple[DatabaseSettings, object]],
    inventory: pd.DataFrame | None = None,
    kind_map: Mapping[str, Mapping[str, DatabasePhaseKind]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:data:`PHASE_CHECK_SCHEMA` and :data:`INVENTORY_STATUS_SCHEMA` tables over ``(spec, Database)`` pairs."""
    inventory = load_inventory() if inventory is None else inventory
    kind_map = load_kind_map() if kind_map is None else kind_map
    checks, statuses = [], []
    for spec, dbf in databases:
        check = check_database(dbf, spec, inventory, kind_map)
        checks.append(check)
        statuses.append(inventory_status(check, inventory, spec.name, database_elements(dbf)))
    if not checks:
        raise ValueError("no databases to check")
    return pd.concat(checks, ignore_index=True), pd.concat(statuses, ignore_index=True)
