"""Simulator confidence: how far a database's answer for a candidate can be trusted, and the choice of
database by it.

*Coverage* (:func:`alloypref.calphad.databases.coverage_score`) says whether a database has BCC (and,
where the pair can order as B2, ordering) parameters for a candidate's element pairs. A database can
hold parameters for a pair and still predict the wrong phases for it, so *confidence* also asks
whether the database gets the known phase facts of that pair right: the per-pair summary of the
database report card (``results/databases/pair_summary.parquet``, :data:`PAIR_SUMMARY_SCHEMA`).

Confidence of a candidate on a database (0-1) is the x_i * x_j weighted share of its element pairs
(the weights of :func:`~alloypref.calphad.databases.coverage_score`) that the database can be trusted
with. Each pair earns a credit:

===============================================  ======================================================
pair on this database                            credit
===============================================  ======================================================
not covered                                      0
covered, its facts disagree (``trusted`` False)  0
covered, a pure-element fact of either element   0 (a database that gets an element wrong is not
disagrees                                        trusted with any of its pairs)
covered, its facts agree (``trusted`` True)      1
covered, no facts about the pair                 ``calphad.untested_pair_weight`` (default 0.5: the
                                                 database may be right, nothing says so)
===============================================  ======================================================

A candidate of one element earns the credit of that element's own facts (1, 0 or the untested
weight). A candidate with an element the database lacks cannot be computed on it at all.

With no facts at all every covered pair is untested, so confidence is ``untested_pair_weight`` times
coverage and the choice of database is the coverage choice of earlier versions.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from alloypref.calphad.databases import B2Formers, PairCoverage, composition_fractions, coverage_score
from alloypref.config_schema import schema_default

#: Credit of a covered pair without facts (config ``calphad.untested_pair_weight``).
DEFAULT_UNTESTED_WEIGHT = float(schema_default("calphad.untested_pair_weight"))

#: The report card's per-pair summary, one row per (database, pair): ``element_a <= element_b``
#: alphabetically; ``element_a == element_b`` for the facts about a pure element.
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


class DatabaseChoice(NamedTuple):
    """A database that can compute a candidate, with its confidence and coverage (both 0-1)."""

    database: str
    confidence: float
    coverage: float


@dataclass(frozen=True)
class PairTrust:
    """Per database, the verdict of the known facts on each element pair (``frozenset`` of two
    symbols) and pure element (``frozenset`` of one): True when they agree, False when not. Pairs
    without facts are absent."""

    verdicts: Mapping[str, Mapping[frozenset[str], bool]] = field(default_factory=dict)

    def verdict(self, database: str, *elements: str) -> bool | None:
        """The verdict on ``elements`` (one or two symbols) for ``database``; None when no facts."""
        return self.verdicts.get(database, {}).get(frozenset(e.capitalize() for e in elements))

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of the verdicts: part of every scoring checkpoint key."""
        described = {
            name: sorted(("-".join(sorted(pair)), bool(ok)) for pair, ok in pairs.items())
            for name, pairs in sorted(self.verdicts.items())
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def read_pair_summary(path: str | Path) -> PairTrust:
    """The verdicts of a pair summary Parquet file (:data:`PAIR_SUMMARY_SCHEMA`).

    A row with ``n_facts == 0`` says nothing and is skipped. Raises ``ValueError`` naming the file
    for missing columns or a (database, pair) that repeats, ``FileNotFoundError`` when it is absent.
    """
    from alloypref.io import read_parquet

    path = Path(path)
    frame = read_parquet(path, PAIR_SUMMARY_SCHEMA)
    verdicts: dict[str, dict[frozenset[str], bool]] = {}
    for row in frame.itertuples(index=False):
        if int(row.n_facts) == 0:
            continue
        pair = frozenset((str(row.element_a).capitalize(), str(row.element_b).capitalize()))
        pairs = verdicts.setdefault(str(row.database), {})
        if pair in pairs:
            raise ValueError(
                f"{path}: database {row.database!r}, pair {row.element_a}-{row.element_b} appears more than once"
            )
        pairs[pair] = bool(row.trusted)
    return PairTrust(verdicts)


def _credit(verdict: bool | None, untested_weight: float) -> float:
    if verdict is None:
        return untested_weight
    return 1.0 if verdict else 0.0


def confidence_score(
    composition: Mapping[str, float] | Iterable[str],
    database: str,
    coverage: PairCoverage,
    formers: B2Formers,
    trust: PairTrust | None = None,
    untested_weight: float = DEFAULT_UNTESTED_WEIGHT,
) -> float:
    """Confidence (0-1) of ``database`` for a composition (atomic fractions, or an element list
    weighing pairs equally): the credit table of the module doc, pairs weighted by x_i * x_j."""
    trust = trust or PairTrust()
    fractions = composition_fractions(composition)
    if not set(fractions) <= coverage.elements:
        return 0.0
    distrusted = {element for element in fractions if trust.verdict(database, element) is False}
    if len(fractions) == 1:
        (element,) = fractions
        return _credit(trust.verdict(database, element), untested_weight)
    total = earned = 0.0
    for first, second in itertools.combinations(sorted(fractions), 2):
        weight = fractions[first] * fractions[second]
        total += weight
        pair = frozenset((first, second))
        covered = pair in coverage.bcc_pairs and (
            not formers.can_order(first, second) or pair in coverage.ordering_pairs
        )
        if not covered or first in distrusted or second in distrusted:
            continue
        earned += weight * _credit(trust.verdict(database, first, second), untested_weight)
    return earned / total if total > 0 else 0.0


def rank_databases(
    composition: Mapping[str, float] | Iterable[str],
    coverages: Mapping[str, PairCoverage],
    formers: B2Formers,
    trust: PairTrust | None = None,
    untested_weight: float = DEFAULT_UNTESTED_WEIGHT,
) -> list[DatabaseChoice]:
    """Every database holding all of the composition's elements, most trustworthy first.

    Ordered by confidence, then coverage, then the order of ``coverages`` (the configured order).
    The first is the database the candidate is scored on; an empty list: no database can compute it.
    """
    fractions = composition_fractions(composition)
    choices = []
    for position, (name, coverage) in enumerate(coverages.items()):
        if not set(fractions) <= coverage.elements:
            continue
        choice = DatabaseChoice(
            name,
            confidence_score(fractions, name, coverage, formers, trust, untested_weight),
            coverage_score(fractions, coverage, formers),
        )
        # rounded: solver-free arithmetic noise must not reorder two databases of equal standing
        choices.append((-round(choice.confidence, 9), -round(choice.coverage, 9), position, choice))
    return [choice for *_, choice in sorted(choices)]
