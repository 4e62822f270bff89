"""The design space (Appendix A.2): element roles, enumerated BCC and B2 compositions, the CALPHAD
single-phase filter, and the SFT triples with their prompts.

Compositions are enumerated from element roles as the paper's authors iterated them:

* BCC: pure BCC formers, binaries and ternaries (up to ``max_bcc_elements``) with every element at
  one of 20, 25, 33 1/3, 40, 50, 66 2/3 or 75 at.% and the total 100 %;
* B2: one or two elements on each of the two sites (A: Al, Hf, Ti, Zr …; B: Fe, Co, Ni, Ru …;
  either: Mn, V …), each site half the atoms, so an element is at 25 % or 50 %.

Formulas are written the way the paper writes them: the smallest integer ratio of the rounded
atomic percentages (``Ti2Nb2Mo``, ``MnAl2Fe``, ``TiV``), or the percentages when no common factor
exists (``Nb67Mo33``).
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.completion.grammar import completion_text
from alloypref.config_schema import schema_default

log = logging.getLogger(__name__)

#: Element concentrations (at.%) of the enumeration, as fractions so sums are exact.
CONCENTRATIONS: tuple[Fraction, ...] = tuple(
    Fraction(c) for c in (20, 25, Fraction(100, 3), 40, 50, Fraction(200, 3), 75)
)

CANDIDATES_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),  # "bcc" or "b2"
        ("formula", pa.string()),  # as written in prompts and completions
        ("composition", pa.string()),  # canonical master string of the exact fractions
        ("elements", pa.string()),  # "-"-joined sorted symbols
        ("n_elements", pa.int64()),
        ("source", pa.string()),  # "enumerated" or "seed"
    ]
)

SFT_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
    ]
)


class DesignSpaceError(ValueError):
    """A design-space configuration that cannot be used; the message names the key or element."""


@dataclass(frozen=True)
class ElementRoles:
    """Element roles of the heuristics in A.2 (capitalised symbols)."""

    bcc_formers: tuple[str, ...]
    b2_a_site: tuple[str, ...]
    b2_b_site: tuple[str, ...]
    b2_either_site: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, roles: Mapping[str, Sequence[str]]) -> ElementRoles:
        """Build from the ``element_roles`` config section; an unknown symbol raises naming it."""
        from pymatgen.core.periodic_table import Element

        values = {}
        for key in ("bcc_formers", "b2_a_site", "b2_b_site", "b2_either_site"):
            symbols = list(roles.get(key, ()))
            for symbol in symbols:
                if not Element.is_valid_symbol(symbol):
                    raise DesignSpaceError(f"config key element_roles.{key}: {symbol!r} is not an element")
            values[key] = tuple(dict.fromkeys(symbols))
        return cls(**values)

    @property
    def all_elements(self) -> set[str]:
        return set(self.bcc_formers) | set(self.b2_a_site) | set(self.b2_b_site) | set(self.b2_either_site)

    def subset(self, elements: Iterable[str]) -> ElementRoles:
        """The roles of ``elements`` only (no warning: a choice, not a loss)."""
        keep = set(elements)
        return replace(
            self,
            bcc_formers=tuple(e for e in self.bcc_formers if e in keep),
            b2_a_site=tuple(e for e in self.b2_a_site if e in keep),
            b2_b_site=tuple(e for e in self.b2_b_site if e in keep),
            b2_either_site=tuple(e for e in self.b2_either_site if e in keep),
        )

    def restricted_to(self, available: Iterable[str], only: Iterable[str] | None = None) -> ElementRoles:
        """Keep the elements some database covers (and, with ``only``, the chosen ones), warning once
        with the names of the wanted elements no database covers (never those ``only`` leaves out)."""
        wanted = self.all_elements
        if only is not None:
            only = set(only)
            unknown = sorted(only - self.all_elements)
            if unknown:
                raise DesignSpaceError(f"config key design_space.elements names {unknown}, which have no role")
            wanted = wanted & only
        keep = wanted & set(available)
        dropped = sorted(wanted - keep)
        if dropped:
            # one warning: the workflow's logging captures warnings, so it reaches the job's log once
            warnings.warn(
                f"elements {dropped} dropped from the design space: no configured database covers them", stacklevel=2
            )
        restricted = self.subset(keep)
        if not restricted.all_elements:
            raise DesignSpaceError("the design space is empty: no element with a role is covered by a database")
        return restricted


def concentration_tuples(n_elements: int) -> list[tuple[Fraction, ...]]:
    """Ordered tuples of :data:`CONCENTRATIONS` (at.%) summing to 100; (100,) for one element."""
    if n_elements == 1:
        return [(Fraction(100),)]
    return [combo for combo in itertools.product(CONCENTRATIONS, repeat=n_elements) if sum(combo) == 100]


def formula_text(fractions: Mapping[str, float | Fraction], order: Sequence[str] | None = None) -> str:
    """The paper's way of writing a composition: the smallest integer ratio of rounded percentages.

    ``{'Ti': .4, 'Nb': .4, 'Mo': .2}`` -> ``Ti2Nb2Mo``; ``{'Nb': 2/3, 'Mo': 1/3}`` -> ``Nb67Mo33``.
    ``order`` fixes the element order (default: decreasing fraction, then symbol).
    """
    elements = list(order) if order is not None else sorted(fractions, key=lambda e: (-float(fractions[e]), e))
    percents = [round(100 * float(fractions[e])) for e in elements]
    divisor = math.gcd(*percents) if len(percents) > 1 else percents[0]
    parts = []
    for element, percent in zip(elements, percents):
        count = percent // divisor
        parts.append(element if count == 1 else f"{element}{count}")
    return "".join(parts)


def enumerate_bcc(formers: Sequence[str], max_elements: int = 3) -> list[dict[str, Fraction]]:
    """Pure formers, binaries, ternaries … up to ``max_elements`` (fractions are exact)."""
    if max_elements < 1:
        raise DesignSpaceError("config key design_space.max_bcc_elements must be >= 1")
    out = []
    for n in range(1, max_elements + 1):
        tuples = concentration_tuples(n)
        for combo in itertools.combinations(sorted(formers), n):
            for concentrations in tuples:
                out.append({e: c / 100 for e, c in zip(combo, concentrations)})
    return out


def enumerate_b2(roles: ElementRoles) -> list[tuple[dict[str, Fraction], tuple[str, ...]]]:
    """One or two elements per site, each site half of the atoms; duplicates (either-site
    elements can fill both sites) removed. Returns (fractions, writing order: A site first)."""
    a_candidates = sorted(set(roles.b2_a_site) | set(roles.b2_either_site))
    b_candidates = sorted(set(roles.b2_b_site) | set(roles.b2_either_site))

    def site_options(elements):
        return [combo for k in (1, 2) for combo in itertools.combinations(elements, k)]

    seen, out = set(), []
    for a_site in site_options(a_candidates):
        for b_site in site_options(b_candidates):
            if set(a_site) & set(b_site):
                continue
            fractions: dict[str, Fraction] = {}
            for site in (a_site, b_site):
                for element in site:
                    fractions[element] = Fraction(1, 2 * len(site))
            key = tuple(sorted(fractions.items()))
            if key in seen:
                continue
            seen.add(key)
            out.append((fractions, a_site + b_site))
    return out


def candidates_table(
    roles: ElementRoles,
    max_bcc_elements: int = 3,
    seed_bcc: Sequence[str] = (),
    seed_b2: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every BCC and B2 candidate (enumerated, plus seed formulas), and the counts."""
    from alloypref.composition import canonical_formula, parse_formula

    rows = []
    for fractions in enumerate_bcc(roles.bcc_formers, max_bcc_elements):
        rows.append(("bcc", formula_text(fractions), fractions, "enumerated"))
    for fractions, order in enumerate_b2(roles):
        rows.append(("b2", formula_text(fractions, order), fractions, "enumerated"))
    allowed = roles.all_elements
    for kind, seeds in (("bcc", seed_bcc), ("b2", seed_b2)):
        for formula in seeds:
            rows.append((kind, formula, parse_formula(formula, allowed), "seed"))
    table = pd.DataFrame(
        [
            {
                "kind": kind,
                "formula": formula,
                "composition": canonical_formula({e: float(x) for e, x in fractions.items()}),
                "elements": "-".join(sorted(fractions)),
                "n_elements": len(fractions),
                "source": source,
            }
            for kind, formula, fractions, source in rows
        ],
        columns=CANDIDATES_SCHEMA.names,
    )
    before = len(table)
    table = table.drop_duplicates(["kind", "composition"], keep="first").reset_index(drop=True)
    counts = {
        "bcc_enumerated": int(((table.kind == "bcc") & (table.source == "enumerated")).sum()),
        "b2_enumerated": int(((table.kind == "b2") & (table.source == "enumerated")).sum()),
        "bcc_seeds": int(((table.kind == "bcc") & (table.source == "seed")).sum()),
        "b2_seeds": int(((table.kind == "b2") & (table.source == "seed")).sum()),
        "duplicates_removed": before - len(table),
    }
    bcc_sizes = table.loc[table.kind == "bcc", "n_elements"]
    for n in sorted(bcc_sizes.unique()):
        counts[f"bcc_{n}_elements"] = int((bcc_sizes == n).sum())
    return table, counts


# -- the single-phase filter ---------------------------------------------------------------------

FILTER_SCHEMA = pa.schema(
    [
        *CANDIDATES_SCHEMA,
        ("database", pa.string()),
        ("coverage", pa.float64()),
        ("min_bcc_fraction", pa.float64()),  # minimum over the filter temperatures (0-1)
        ("min_b2_fraction", pa.float64()),
        ("status", pa.string()),  # ok / invalid / failed
        ("reason", pa.string()),
        ("keep", pa.bool_()),
    ]
)


def filter_single_phase(
    candidates: pd.DataFrame,
    backend,
    temperatures_K: Sequence[float],
    threshold: float = 0.99,
    timeout_s: float = 120.0,
    progress=None,
) -> pd.DataFrame:
    """Phase fractions of each candidate at the filter temperatures, and whether it is kept.

    A BCC candidate is kept when it is more than ``threshold`` disordered BCC, a B2 candidate when
    it is more than ``threshold`` ordered B2, at every filter temperature. Only those temperatures
    are solved. Solver failures are recorded with their reason and not kept.
    """
    from alloypref.calphad.worker import SolverWorker

    temperatures = tuple(float(t) for t in temperatures_K)
    with SolverWorker(backend, timeout_s) as solver:  # a killable process enforces the time limit
        rows = _filter_rows(candidates, backend, solver, temperatures, threshold, progress)
    return pd.DataFrame(rows, columns=FILTER_SCHEMA.names)


def _filter_rows(candidates, backend, solver, temperatures, threshold, progress) -> list[dict]:
    from alloypref.calphad.backend import CalphadError
    from alloypref.calphad.tables import Structure
    from alloypref.composition import parse_formula

    rows = []
    for candidate in candidates.itertuples(index=False):
        row = candidate._asdict()
        row.update(
            database="",
            coverage=0.0,
            min_bcc_fraction=np.nan,
            min_b2_fraction=np.nan,
            status="ok",
            reason="",
            keep=False,
        )
        fractions = _exact_fractions(candidate.composition) or parse_formula(candidate.formula)
        database, coverage = backend.choose_database(fractions)
        if database is None:
            row.update(status="invalid", reason=f"no configured database holds all of {sorted(fractions)}")
        else:
            row.update(database=database, coverage=float(coverage))
            try:
                table = solver.phase_table(fractions, temperatures, database)
                by_temperature = (
                    table.groupby(["temperature_K", "structure"])["mole_fraction"].sum().unstack(fill_value=0.0)
                )
                by_temperature = by_temperature.reindex(
                    columns=[Structure.BCC.value, Structure.B2.value], fill_value=0.0
                )
                row["min_bcc_fraction"] = float(by_temperature[Structure.BCC.value].min())
                row["min_b2_fraction"] = float(by_temperature[Structure.B2.value].min())
                wanted = row["min_bcc_fraction"] if candidate.kind == "bcc" else row["min_b2_fraction"]
                row["keep"] = bool(wanted > threshold)
            except CalphadError as exc:
                row.update(status="failed", reason=exc.reason)
            except Exception as exc:  # a crash is a recorded failure, never a dead shard
                row.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
        rows.append(row)
        if progress:
            progress(1)
    return rows


def _exact_fractions(canonical: str) -> dict[str, float] | None:
    """Fractions from a canonical string (atomic percent, 2 decimals), renormalised."""
    import re

    parts = re.findall(r"([A-Z][a-z]?)([0-9.]+)", canonical or "")
    if not parts:
        return None
    total = sum(float(p) for _, p in parts)
    return {e: float(p) / total for e, p in parts}


# -- SFT triples and prompts ------------------------------------------------------------------

PAPER_PROMPT = (
    "A BCC-B2 intermetallic alloy consists of a disordered body-centered cubic (BCC) parent matrix "
    "and an ordered B2 precipitate, each existing in the material as some fractional percentage. "
    "Suggest a BCC-structured composition and a B2-structured composition, where the BCC and the B2 "
    "are likely to form an intermetallic alloy with high yield strength at high heat. Additionally, "
    "suggest a volume percentage for the B2 composition within the alloy.\n\n"
    "Restriction 1: Use XML style tags to encapsulate the output values, example: <tag>XYZ</tag>.\n\n"
    "Restriction 2: All the compositions should be limited to the following elements: {elements}\n"
)
SHORT_PROMPT = "Suggest a BCC/B2 superalloy from {elements}.\n"
PROMPT_TEMPLATES = {"paper": PAPER_PROMPT, "short": SHORT_PROMPT}


def prompt_text(elements: Iterable[str], template: str = "paper") -> str:
    """The instruction (Fig. 5/6 wording by default) with the element list filled in."""
    if template not in PROMPT_TEMPLATES:
        raise DesignSpaceError(f"config key design_space.prompt_template: unknown template {template!r}")
    return PROMPT_TEMPLATES[template].format(elements=", ".join(sorted(elements)))


@dataclass(frozen=True)
class VolumeSettings:
    """How B2 volume percentages (%) are drawn for the SFT triples.

    ``normal``: N(mean, sd) clipped to [low, high] (the main text); ``uniform``: U(low, high)
    (Appendix A.2); ``per_pair`` distinct values (after rounding to 2 decimals) for each pair.
    """

    scheme: str = schema_default("design_space.volume.scheme")
    per_pair: int = int(schema_default("design_space.volume.per_pair"))
    mean: float = float(schema_default("design_space.volume.mean"))
    sd: float = float(schema_default("design_space.volume.sd"))
    low: float = float(schema_default("design_space.volume.low"))
    high: float = float(schema_default("design_space.volume.high"))

    def __post_init__(self):
        if self.scheme not in ("normal", "uniform"):
            raise DesignSpaceError(f"config key design_space.volume.scheme: {self.scheme!r} is not normal or uniform")
        if not self.low < self.high:
            raise DesignSpaceError(f"config key design_space.volume: low {self.low} must be below high {self.high}")


def draw_volumes(n_pairs: int, volume: VolumeSettings = VolumeSettings(), seed: int = 0) -> np.ndarray:
    """Distinct B2 volume percentages for each pair, shape (n_pairs, per_pair); rows with a repeated
    value after rounding are drawn again."""
    rng = np.random.default_rng(seed)

    def draw(shape):
        if volume.scheme == "normal":
            values = rng.normal(volume.mean, volume.sd, shape)
        else:
            values = rng.uniform(volume.low, volume.high, shape)
        return np.round(np.clip(values, volume.low, volume.high), 2)

    volumes = draw((n_pairs, volume.per_pair))
    for _ in range(1000):
        sorted_rows = np.sort(volumes, axis=1)
        repeated = (np.diff(sorted_rows, axis=1) == 0).any(axis=1)
        if not repeated.any():
            return volumes
        volumes[repeated] = draw((int(repeated.sum()), volume.per_pair))
    raise DesignSpaceError("could not draw distinct volumes: widen design_space.volume")


def sft_triples(
    bcc: Sequence[str],
    b2: Sequence[str],
    elements: Iterable[str],
    volume: VolumeSettings = VolumeSettings(),
    seed: int = 0,
    template: str = "paper",
) -> pd.DataFrame:
    """Every BCC x B2 pair with ``volume.per_pair`` distinct volumes: the SFT dataset (``SFT_SCHEMA``)."""
    if not len(bcc) or not len(b2):
        raise DesignSpaceError(f"no SFT triples: {len(bcc)} BCC and {len(b2)} B2 compositions survived curation")
    pairs = list(itertools.product(bcc, b2))
    volumes = draw_volumes(len(pairs), volume, seed)
    prompt = prompt_text(elements, template)
    rows = []
    for index, ((bcc_formula, b2_formula), pair_volumes) in enumerate(zip(pairs, volumes)):
        for k, volume in enumerate(pair_volumes):
            rows.append(
                {
                    "candidate_id": f"sft{index:06d}_{k}",
                    "bcc": bcc_formula,
                    "b2": b2_formula,
                    "b2_volume_percent": float(volume),
                    "prompt": prompt,
                    "completion": completion_text(bcc_formula, b2_formula, float(volume)),
                }
            )
    return pd.DataFrame(rows, columns=SFT_SCHEMA.names)


def read_seed_list(path: str | None) -> list[str]:
    """Formulas from a text file (one per line, ``#`` starts a comment); none for a null path."""
    if not path:
        return []
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise DesignSpaceError(f"config key design_space.seed_lists: file {path} not found")
    formulas = []
    for line in file.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            formulas.append(text)
    return formulas


def curated_lists(filtered: pd.DataFrame, min_coverage: float) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The kept BCC and B2 candidates and the counts of the filter step; ``low_coverage`` counts the
    candidates whose database covers less than ``min_coverage`` (config ``calphad.min_coverage``)."""
    kept = filtered[filtered["keep"]]
    bcc = kept[kept["kind"] == "bcc"].reset_index(drop=True)
    b2 = kept[kept["kind"] == "b2"].reset_index(drop=True)
    counts = {
        "bcc_candidates": int((filtered["kind"] == "bcc").sum()),
        "b2_candidates": int((filtered["kind"] == "b2").sum()),
        "bcc_kept": len(bcc),
        "b2_kept": len(b2),
        "failed": int((filtered["status"] == "failed").sum()),
        "invalid": int((filtered["status"] == "invalid").sum()),
        "low_coverage": int((filtered["coverage"] < min_coverage).sum()),
    }
    return bcc, b2, counts


def roles_from_config(
    element_roles: Mapping, elements: Iterable[str] | None, available_elements: Iterable[str]
) -> ElementRoles:
    """Element roles (config ``element_roles``) restricted to the design-space elements (config
    ``design_space.elements``, None for all) that a configured database covers."""
    roles = ElementRoles.from_config(element_roles)
    return roles.restricted_to(available_elements, elements)
