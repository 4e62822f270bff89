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
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.completion.grammar import completion_text, formula_text
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
    b2_either_site: tuple[str, ...]  # no default here: the schema holds it (element_roles.b2_either_site)

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

#: Two BCC (or two B2) composition sets whose estimated lattice parameters differ by more than this
#: (Å) are two phases, not one: the lattice parameter follows the set's composition (Vegard), so
#: sets that converged to one composition agree to ~1e-6 Å, while a miscibility gap separates them
#: by about (a_A - a_B) x (composition gap), e.g. 0.23 Å for Cr50W50 at 1273 K on mc_ni
#: (2.908 and 3.139 Å) and still ~0.01 Å for Cr-Fe's gap, whose end members differ by only 0.018 Å.
SAME_SET_TOLERANCE_A = 1e-3

#: The curation table: one row per candidate.
#:
#: ====================  ========  ==============================================================
#: column                dtype     meaning
#: ====================  ========  ==============================================================
#: (candidate columns)             :data:`CANDIDATES_SCHEMA`
#: ``database``          string    the database it was solved on: the first of the trust ranking
#:                                 (:func:`alloypref.calphad.trust.rank_databases`); '' if none
#: ``coverage``          float64   that database's coverage of its pairs (0-1)
#: ``trusted``           bool      weakest-link trust of that database for the candidate
#: ``trust_reason``      string    why not trusted ('' when trusted): subsystem, missing phase or
#:                                 failed detection facts, ``; ``-joined
#: ``min_bcc_fraction``  float64   over the filter temperatures, the smallest mole fraction (0-1)
#:                                 of its largest disordered BCC phase: composition sets whose
#:                                 lattice parameters agree within :data:`SAME_SET_TOLERANCE_A`
#:                                 count as one phase, others (a miscibility gap) do not add up
#: ``min_b2_fraction``   float64   the same for ordered B2
#: ``status``            string    ok / invalid (no database) / failed (solver)
#: ``reason``            string    why invalid or failed, or why an ok candidate is not single phase
#:                                 when it has two BCC or B2 phases
#: ``keep``              bool      ok, trusted, and its wanted phase above the threshold throughout
#: ====================  ========  ==============================================================
FILTER_SCHEMA = pa.schema(
    [
        *CANDIDATES_SCHEMA,
        ("database", pa.string()),
        ("coverage", pa.float64()),
        ("trusted", pa.bool_()),
        ("trust_reason", pa.string()),
        ("min_bcc_fraction", pa.float64()),
        ("min_b2_fraction", pa.float64()),
        ("status", pa.string()),
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
    trust_evidence=None,
) -> pd.DataFrame:
    """Phase fractions of each candidate at the filter temperatures (K), and whether it is kept.

    The database is the first of the trust ranking of those holding the candidate's elements
    (``backend.database_choices``: trusted first, then coverage), judged by ``trust_evidence``
    (:class:`alloypref.calphad.trust.TrustEvidence`; None: nothing is trusted, so nothing is kept).
    A BCC candidate is kept when its database is trusted for it and its largest disordered BCC
    phase is more than ``threshold`` of it at every filter temperature, a B2 candidate likewise for
    ordered B2; two composition sets of distinct lattice parameter (:data:`SAME_SET_TOLERANCE_A`)
    are two phases. Only those temperatures are solved. Solver failures are recorded with their
    reason and not kept.
    """
    from alloypref.calphad.worker import SolverWorker

    temperatures = tuple(float(t) for t in temperatures_K)
    with SolverWorker(backend, timeout_s) as solver:  # a killable process enforces the time limit
        rows = _filter_rows(candidates, backend, solver, temperatures, threshold, progress, trust_evidence)
    return pd.DataFrame(rows, columns=FILTER_SCHEMA.names)


def single_phase_fractions(table: pd.DataFrame, structure: str) -> tuple[pd.Series, str]:
    """Per temperature (K), the mole fraction of the largest phase of ``structure`` (``BCC`` or ``B2``)
    in a phase table (:mod:`alloypref.calphad.tables`): its composition sets are grouped by lattice
    parameter (sets within :data:`SAME_SET_TOLERANCE_A` of their neighbour are one phase) and the
    largest group's fractions summed. Also the first temperature with two such phases, in words
    ('' if none)."""
    largest, split = {}, ""
    for temperature, rows in table.groupby("temperature_K", sort=True):
        sets = rows[rows["structure"] == structure].sort_values("lattice_parameter_A")
        groups: list[list[float]] = []  # [[fraction, last lattice parameter (Å)], ...]
        for fraction, lattice in zip(sets["mole_fraction"], sets["lattice_parameter_A"], strict=True):
            if groups and abs(lattice - groups[-1][1]) <= SAME_SET_TOLERANCE_A:
                groups[-1][0] += fraction
                groups[-1][1] = lattice
            else:
                groups.append([fraction, lattice])
        largest[temperature] = max((g[0] for g in groups), default=0.0)
        if len(groups) > 1 and not split:
            lattices = ", ".join(f"{a:.3f}" for a in sets["lattice_parameter_A"])
            split = f"two {structure} phases at {temperature:g} K (composition sets of lattice parameters {lattices} Å)"
    return pd.Series(largest, dtype=float), split


def _filter_rows(candidates, backend, solver, temperatures, threshold, progress, trust_evidence) -> list[dict]:
    from alloypref.calphad.backend import CalphadError
    from alloypref.calphad.tables import Structure
    from alloypref.composition import parse_formula

    rows = []
    for candidate in candidates.itertuples(index=False):
        row = candidate._asdict()
        row.update(
            database="",
            coverage=0.0,
            trusted=False,
            trust_reason="",
            min_bcc_fraction=np.nan,
            min_b2_fraction=np.nan,
            status="ok",
            reason="",
            keep=False,
        )
        fractions = _exact_fractions(candidate.composition) or parse_formula(candidate.formula)
        choices = backend.database_choices(fractions, trust_evidence)
        if not choices:
            row.update(status="invalid", reason=f"no configured database holds all of {sorted(fractions)}")
        else:
            best = choices[0]
            row.update(
                database=best.database,
                coverage=float(best.coverage),
                trusted=bool(best.verdict.trusted),
                trust_reason=best.verdict.why,
            )
            try:
                table = solver.phase_table(fractions, temperatures, best.database)
                bcc, bcc_split = single_phase_fractions(table, Structure.BCC.value)
                b2, b2_split = single_phase_fractions(table, Structure.B2.value)
                row["min_bcc_fraction"] = float(bcc.min()) if len(bcc) else 0.0
                row["min_b2_fraction"] = float(b2.min()) if len(b2) else 0.0
                wanted, split = (
                    (row["min_bcc_fraction"], bcc_split)
                    if candidate.kind == "bcc"
                    else (row["min_b2_fraction"], b2_split)
                )
                row["keep"] = bool(wanted > threshold and row["trusted"])
                if wanted <= threshold:
                    row["reason"] = split  # '' unless two phases of the wanted structure are why
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
    data = file.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DesignSpaceError(
            f"config key design_space.seed_lists: {path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})"
        ) from None
    formulas = []
    for line in text.splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            formulas.append(text)
    return formulas


def curated_lists(filtered: pd.DataFrame, min_coverage: float) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """The kept BCC and B2 candidates and the counts of the filter step; ``low_coverage`` counts the
    candidates whose database covers less than ``min_coverage`` (config ``calphad.min_coverage``),
    ``untrusted`` the solved candidates whose database is not trusted for them (never kept)."""
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
        # null trusted (a design space curated before trust was judged) is unknown, not untrusted
        "untrusted": int(((filtered["status"] == "ok") & filtered["trusted"].astype("boolean").eq(False)).sum()),
    }
    return bcc, b2, counts


def roles_from_config(
    element_roles: Mapping, elements: Iterable[str] | None, available_elements: Iterable[str]
) -> ElementRoles:
    """Element roles (config ``element_roles``) restricted to the design-space elements (config
    ``design_space.elements``, None for all) that a configured database covers."""
    roles = ElementRoles.from_config(element_roles)
    return roles.restricted_to(available_elements, elements)
