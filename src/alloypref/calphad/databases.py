"""Thermodynamic databases: loading (with the BCC fix), phase roles, and the pair coverage of each.

No single open database covers the BCC/B2 design space (mc_ni lacks Fe-Al/Mn-Al ordering, COST507
is wrong for Ni-Al). Coverage says whether a database *has* parameters for a candidate's element
pairs; which database a candidate is scored on is decided by weakest-link trust (missing competing
phases, failed detection facts: :mod:`alloypref.calphad.trust`), coverage breaking ties.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from alloypref.calphad.ordering import NOT_ELEMENTS, has_b2_sublattices
from alloypref.calphad.patches import TdbPatch, apply_patches, read_patch, resolve_patch, shipped_patches
from alloypref.calphad.tables import PhaseRole

log = logging.getLogger(__name__)

#: Bump when :func:`apply_bcc_fix` (or anything else that edits a loaded database) changes; part of
#: every cache key so a changed fix never reuses stale pickles.
DATABASE_FIX_VERSION = "bccfix-1"

# COST507's parameter lines end in "N REF: xyz !"; pycalphad 0.11 cannot parse the REF: token.
_REF_TOKEN = re.compile(r"(N|Y) +REF: *[^ !]+ *!")


class DatabaseError(ValueError):
    """A database file or its configuration cannot be used; the message names it."""


@dataclass(frozen=True)
class DatabaseSettings:
    """One configured database.

    Attributes:
        name: short name used in config and in reward rows (``mc_ni``).
        path: TDB file; a bare file name is looked up among the databases shipped in
            ``alloypref/data/tdb``.
        phase_roles: phase name -> role (``bcc_like``, ``b2``, ``liquid``); unlisted phases are
            ``other``. Phases are never classified from substrings of their names.
        strip_refs: remove ``REF:`` tokens before parsing (needed for COST507).
        patches: documented corrections applied to the file's text at load
            (:mod:`alloypref.calphad.patches`): shipped patch names or ``.yaml`` paths; ``None`` (the
            default) applies every patch shipped for the file, ``()`` none.
    """

    name: str
    path: str
    phase_roles: Mapping[str, str] = field(default_factory=dict)
    strip_refs: bool = False
    patches: tuple[str, ...] | None = None

    @cached_property
    def resolved_path(self) -> Path:
        candidate = Path(self.path)
        if candidate.is_file():
            return candidate
        shipped = resources.files("alloypref.data").joinpath("tdb").joinpath(self.path)
        if shipped.is_file():
            return Path(str(shipped))
        raise DatabaseError(f"database {self.name!r}: file {self.path!r} not found (nor among the shipped TDBs)")

    @cached_property
    def file_sha256(self) -> str:
        """SHA-256 of the original TDB file (64 hex digits)."""
        return hashlib.sha256(self.resolved_path.read_bytes()).hexdigest()

    @cached_property
    def patch_files(self) -> tuple[TdbPatch, ...]:
        """The patches applied at load, parsed and checked (in name order for shipped ones)."""
        names = shipped_patches(self.resolved_path.name) if self.patches is None else self.patches
        return tuple(read_patch(resolve_patch(name, self.resolved_path.name)) for name in names)

    @cached_property
    def content_hash(self) -> str:
        """The database's identity (16 hex digits), part of every cache key and checkpoint fingerprint.

        The file's SHA-256 when no patch applies; otherwise the SHA-256 of the file's hash followed by
        each applied patch's name and hash, so a patched database never shares a cache with the
        original or with a differently patched one.
        """
        if not self.patch_files:
            return self.file_sha256[:16]
        parts = [self.file_sha256] + [f"{p.name}:{p.sha256}" for p in self.patch_files]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def tdb_text(self) -> str:
        """The text pycalphad parses: the file with its patches applied and, if asked, REF: tokens stripped."""
        text = self.resolved_path.read_text(encoding="utf-8", errors="replace")  # universal newlines
        if self.patch_files:
            text = apply_patches(text, self.file_sha256, list(self.patch_files), self.resolved_path)
        if self.strip_refs:
            text = _REF_TOKEN.sub(r"\1 !", text)
        return text

    def role(self, phase_name: str) -> PhaseRole:
        try:
            return PhaseRole(self.phase_roles.get(phase_name, PhaseRole.OTHER.value))
        except ValueError:
            raise DatabaseError(
                f"database {self.name!r}: phase {phase_name!r} has unknown role "
                f"{self.phase_roles[phase_name]!r}; use one of {[r.value for r in PhaseRole]}"
            ) from None


def apply_bcc_fix(dbf) -> None:
    """Give each ordered phase the constituents of its disordered part (in place).

    pycalphad's ``filter_phases`` drops an ordered phase whose *declared* sublattices miss the
    system, and with it the disordered part: mc_ni declares ``BCC_B2`` with Fe, Ni, Si, Ti only, so a
    Nb-Mo-W system would have no BCC phase at all. pycalphad's ``Model`` already extends the ordered
    sublattices this way internally, so systems that kept the phase are unchanged.
    Ordered sublattice i maps to disordered sublattice max(0, i - (n_ordered - n_disordered)): the
    leading substitutional sublattices all map onto the disordered one.
    """
    for phase in dbf.phases.values():
        disordered_name = phase.model_hints.get("disordered_phase")
        if not disordered_name or disordered_name == phase.name or disordered_name not in dbf.phases:
            continue
        disordered = dbf.phases[disordered_name]
        n_ord, n_dis = len(phase.constituents), len(disordered.constituents)
        if n_ord < n_dis:
            continue
        phase.constituents = tuple(
            frozenset(phase.constituents[i]) | frozenset(disordered.constituents[max(0, i - (n_ord - n_dis))])
            for i in range(n_ord)
        )


def _pycalphad_version() -> str:
    import pycalphad

    return pycalphad.__version__


def load_database(spec: DatabaseSettings, cache_dir: Path | None = None):
    """Parse a TDB, with its patches applied, into a pycalphad ``Database`` with :func:`apply_bcc_fix` applied.

    Parsing mc_ni takes ~10 s, so the fixed database is pickled under ``cache_dir`` (keyed by the
    database's identity -- file and patches --, the fix version and the pycalphad version) and
    reloaded in ~0.2 s afterwards.
    """
    from pycalphad import Database

    from alloypref.calphad.cache import load_cached, store_cached

    key = f"{spec.name}-{spec.content_hash}-{DATABASE_FIX_VERSION}-pycalphad{_pycalphad_version()}.pkl"
    cached = Path(cache_dir) / "databases" / key if cache_dir else None
    dbf = load_cached(cached, Path(cache_dir)) if cached is not None else None
    if dbf is not None and not isinstance(dbf, Database):
        log.warning("ignoring database cache %s: it holds a %s, not a Database", cached, type(dbf).__name__)
        dbf = None
    if dbf is None:
        text = spec.tdb_text()
        try:
            dbf = Database(text)
        except Exception as exc:
            raise DatabaseError(f"database {spec.name!r} ({spec.resolved_path}) could not be parsed: {exc}") from exc
        apply_bcc_fix(dbf)
        if cached is not None:
            store_cached(cached, Path(cache_dir), dbf)
    # The roles are checked on every load: the cache key does not hold them, so a typo made after the
    # cache was built must still be caught.
    check_phase_roles(dbf, spec)
    return dbf


def check_phase_roles(dbf, spec: DatabaseSettings) -> None:
    """Raise :class:`DatabaseError` when ``spec.phase_roles`` names a phase ``dbf`` lacks (names are exact)."""
    unknown = sorted(set(spec.phase_roles) - set(dbf.phases))
    if unknown:
        near = {name: [p for p in dbf.phases if p.upper() == name.upper()] for name in unknown}
        hints = "; ".join(f"{name!r} -> did you mean {near[name][0]!r}?" for name in unknown if near[name])
        raise DatabaseError(
            f"database {spec.name!r}: calphad.databases phase_roles name phases it does not have: {unknown}"
            + (f" ({hints})" if hints else "")
        )


def database_elements(dbf) -> set[str]:
    """Chemical elements of a database, capitalised (``Al``), without VA and the electron."""
    return {e.capitalize() for e in dbf.elements if e not in NOT_ELEMENTS}


@dataclass(frozen=True)
class PairCoverage:
    """Which element pairs a database has BCC parameters and B2 ordering parameters for."""

    bcc_pairs: frozenset[frozenset[str]]
    ordering_pairs: frozenset[frozenset[str]]
    elements: frozenset[str]


def pair_coverage(dbf, spec: DatabaseSettings) -> PairCoverage:
    """Scan a database's parameters for binary BCC interaction and B2 ordering data.

    A pair {A, B} has *BCC data* when a parameter of a ``bcc_like`` or ``b2`` phase involves exactly
    the elements A and B. It has *ordering data* when such a parameter of an orderable phase (two
    equal leading sublattices, or a phase that is B2 by definition) puts A and B on different
    substitutional sublattices, e.g. ``G(BCC_B2,AL:FE:VA)``.
    """
    bcc_pairs: set[frozenset[str]] = set()
    ordering_pairs: set[frozenset[str]] = set()
    for param in dbf._parameters.all():
        phase_name = param["phase_name"]
        if phase_name not in dbf.phases:
            continue
        role = spec.role(phase_name)
        if role not in (PhaseRole.BCC_LIKE, PhaseRole.B2):
            continue
        sublattice_elements = [
            {s.name.capitalize() for s in subl if s.name not in NOT_ELEMENTS} for subl in param["constituent_array"]
        ]
        elements = set().union(*sublattice_elements)
        if len(elements) != 2:
            continue
        pair = frozenset(elements)
        bcc_pairs.add(pair)
        phase = dbf.phases[phase_name]
        orderable = role == PhaseRole.B2 or has_b2_sublattices(phase.sublattices, phase.constituents)
        if orderable and len(sublattice_elements) >= 2:
            first, second = sublattice_elements[0], sublattice_elements[1]
            if first and second and first != second and (first | second) == elements:
                ordering_pairs.add(pair)
    return PairCoverage(frozenset(bcc_pairs), frozenset(ordering_pairs), frozenset(database_elements(dbf)))


@dataclass(frozen=True)
class B2Formers:
    """Element roles that decide which pairs can order as B2 (A-site, B-site, either site)."""

    a_site: frozenset[str] = frozenset({"Al", "Hf", "Ti", "Zr"})
    b_site: frozenset[str] = frozenset({"Fe", "Co", "Ni", "Ru"})
    either_site: frozenset[str] = frozenset({"Mn", "V"})

    def can_order(self, first: str, second: str) -> bool:
        a_like = self.a_site | self.either_site
        b_like = self.b_site | self.either_site
        return first != second and ((first in a_like and second in b_like) or (second in a_like and first in b_like))


def composition_fractions(composition: Mapping[str, float] | Iterable[str]) -> dict[str, float]:
    """Atomic fractions by capitalised symbol (zeros dropped); an element list gets equal fractions."""
    if isinstance(composition, Mapping):
        return {e.capitalize(): float(x) for e, x in composition.items() if x > 0}
    elements = {e.capitalize() for e in composition}
    return {e: 1.0 / len(elements) for e in elements}


def coverage_score(
    composition: Mapping[str, float] | Iterable[str], coverage: PairCoverage, formers: B2Formers
) -> float:
    """Share (0-1) of the candidate's element pairs the database covers, weighted by x_i * x_j.

    A pair is covered when it has BCC data and, if its two elements can order as B2, ordering data
    too. Pairs are weighted by the product of their atomic fractions, the weight a binary
    interaction has in the excess Gibbs energy sum_ij x_i x_j L_ij, so a missing pair of major
    elements costs more than one of a minor element. A bare element list weighs pairs equally.
    A candidate with an element the database lacks scores 0; a single element scores 1.
    """
    fractions = composition_fractions(composition)
    if not set(fractions) <= coverage.elements:
        return 0.0
    total = covered = 0.0
    for first, second in itertools.combinations(sorted(fractions), 2):
        weight = fractions[first] * fractions[second]
        pair = frozenset((first, second))
        has_bcc = pair in coverage.bcc_pairs
        needs_order = formers.can_order(first, second)
        total += weight
        if has_bcc and (not needs_order or pair in coverage.ordering_pairs):
            covered += weight
    return covered / total if total > 0 else 1.0


def choose_database(
    composition: Mapping[str, float] | Iterable[str], coverages: Mapping[str, PairCoverage], formers: B2Formers
) -> tuple[str | None, float]:
    """The database name with the highest coverage score (ties: the first in ``coverages``' order).

    Returns ``(None, 0.0)`` when no database holds every element.
    """
    best_name, best_score = None, -1.0
    fractions = composition_fractions(composition)
    for name, coverage in coverages.items():
        if not set(fractions) <= coverage.elements:
            continue
        score = coverage_score(fractions, coverage, formers)
        if score > best_score:
            best_name, best_score = name, score
    return (best_name, best_score) if best_name is not None else (None, 0.0)
