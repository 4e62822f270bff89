"""Table 1 metrics per source of triples, each with its denominator and reference set.

Every triple is represented by its master composition x = (1 - f) x_BCC + f x_B2, the composition the
reward is computed on. A source is a rewards table (``alloypref.scoring.REWARDS_SCHEMA``) with one row
per generated sample; n is its number of rows. A triple is *parsed* when its master composition could
be formed (``master_composition != ""``; the scorer leaves it empty for every sample the sampler's
parser rejected, see :mod:`alloypref.scoring`): its tags, two well-formed formulas in the training
data's notation (:func:`alloypref.completion.grammar.notation_error`; a ``malformed`` formula such as
``Mo3Mo`` is not parsed, nor repaired) of design-space elements, and a volume within 0-100 %.

Validity is dropped. Table 1 of the paper took CDVAE's SMACT validity (charge neutrality and
electronegativity order); with alloys allowed, SMACT passes every all-metal composition, so on this
design space it equalled the parse rate, and charge balance says nothing about a metallic alloy. What
a metallic candidate can get wrong is reported instead: its notation (parse rate), its database
(DB coverage, untrusted) and its phases (the four rules). Coverage and AMCD are over the parsed samples.

==============  ==========================================================  =========================
metric          definition                                                  denominator
==============  ==========================================================  =========================
parse rate      parsed (well-formed) samples                                n (all generated)
COV-R           reference points whose nearest parsed generated point is    reference set size
                within ``cutoff``
COV-P (parsed)  parsed samples whose nearest reference point is within      parsed samples
                ``cutoff`` (Crystal-text-LLM's reading)
COV-P (all)     the same count                                              n (CDVAE's code)
AMCD-R          mean distance from each reference point to the nearest      reference set size
                parsed generated point
AMCD-P          mean distance from each parsed sample to the nearest        parsed samples
                reference point
novelty         parsed samples farther than ``novelty_cutoff`` (2.0) from   parsed samples
                every known material
unique@100      distinct (BCC, B2) keys among the first 100 parsed          min(100, parsed)
mean reward     Eq. 1; a sample that was not scored ``ok`` has the worst    n
all 4 rules     samples meeting all four rules (not ``ok`` = not met)       n
DB coverage     mean database coverage of the samples given a database      samples given a database
low coverage    share of those below ``calphad.min_coverage``               samples given a database
untrusted       share of those their database is not ``trusted`` for          samples given a database
                (weakest-link trust, ``alloypref.calphad.trust``)
mean reward     Eq. 1 over the *trusted* samples: given a database that is  trusted samples
(trusted)       ``trusted`` for them (not ``ok`` = the worst reward)
all 4 rules     samples meeting all four rules among the trusted ones       trusted samples
(trusted)
==============  ==========================================================  =========================

The trusted columns, beside the columns over all samples, leave out every sample whose reward rests
on a subsystem its database gets wrong (a failed detection fact) or cannot describe (a missing
competing phase that could form): untrusted samples are counted (untrusted), not scored. Unparsed
and invalid samples have no database and are in neither group.

Distances are Euclidean between standardised Magpie fingerprints (CDVAE's MP-20 scaler). Reference
set for coverage: every curated BCC x B2 pair mixed at f = ``reference_fraction`` (0.45, the mean of
the volume distribution). Known set for novelty: the Materials Project subset matminer ships (47,737
entries studied for transport), pymatgen's 2,135 experimental compounds, and the curated BCC and B2
lists — restricted to compounds of >= 2 elements of the configured databases (curated entries of one
element included); it is novelty against that set, not against all of the Materials Project. A
canonical formula for unique@100 is its sorted (element, fraction rounded to 1e-3).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.composition import FormulaError, master_composition, parse_formula

DEFAULT_CUTOFFS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)

METRICS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("n", pa.int64()),
        ("parse_rate", pa.float64()),
        ("coverage_recall", pa.float64()),
        ("coverage_precision", pa.float64()),
        ("coverage_precision_all", pa.float64()),
        ("amcd_recall", pa.float64()),
        ("amcd_precision", pa.float64()),
        ("novelty", pa.float64()),
        ("mean_reward", pa.float64()),
        ("all_rules", pa.float64()),
        ("unique_at_100", pa.float64()),
        ("mean_db_coverage", pa.float64()),
        ("low_coverage_share", pa.float64()),
        ("untrusted_share", pa.float64()),
        ("n_trusted", pa.int64()),
        ("mean_reward_trusted", pa.float64()),
        ("all_rules_trusted", pa.float64()),
    ]
)


def master_fractions(rewards: pd.DataFrame) -> list[dict[str, float] | None]:
    """Master composition of each row (None when it could not be formed)."""
    out = []
    for row in rewards.itertuples(index=False):
        if not row.master_composition:
            out.append(None)
            continue
        try:
            out.append(master_composition(parse_formula(row.bcc), parse_formula(row.b2), row.b2_volume_percent))
        except FormulaError:
            out.append(None)
    return out


def nearest_distances(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(min over b for each a, min over a for each b) of Euclidean distances, in chunks."""
    if len(a) == 0 or len(b) == 0:
        return np.full(len(a), np.inf), np.full(len(b), np.inf)
    from scipy.spatial.distance import cdist

    to_b = np.full(len(a), np.inf)
    to_a = np.full(len(b), np.inf)
    for start in range(0, len(a), chunk):
        d = cdist(a[start : start + chunk], b)  # exact differences: identical points are at 0
        to_b[start : start + chunk] = d.min(axis=1)
        to_a = np.minimum(to_a, d.min(axis=0))
    return to_b, to_a


def coverage(generated: np.ndarray, reference: np.ndarray, cutoff: float) -> dict[str, float]:
    """COV-R, COV-P at ``cutoff`` and AMCD-R/P (fingerprint distances, dimensionless)."""
    gen_to_ref, ref_to_gen = nearest_distances(generated, reference)
    if len(generated) == 0:
        return {"coverage_recall": 0.0, "coverage_precision": 0.0, "amcd_recall": np.nan, "amcd_precision": np.nan}
    return {
        "coverage_recall": float((ref_to_gen <= cutoff).mean()),
        "coverage_precision": float((gen_to_ref <= cutoff).mean()),
        "amcd_recall": float(ref_to_gen.mean()),
        "amcd_precision": float(gen_to_ref.mean()),
    }


def coverage_curve(
    generated: np.ndarray, reference: np.ndarray, cutoffs: Sequence[float] = DEFAULT_CUTOFFS
) -> pd.DataFrame:
    """COV-R and COV-P over cutoffs."""
    gen_to_ref, ref_to_gen = nearest_distances(generated, reference)
    return pd.DataFrame(
        {
            "cutoff": list(cutoffs),
            "coverage_recall": [float((ref_to_gen <= c).mean()) if len(generated) else 0.0 for c in cutoffs],
            "coverage_precision": [float((gen_to_ref <= c).mean()) if len(generated) else 0.0 for c in cutoffs],
        }
    )


def reference_compositions(bcc: Sequence[str], b2: Sequence[str], fraction: float = 0.45) -> list[dict[str, float]]:
    """Every curated BCC x B2 pair mixed at B2 fraction ``fraction``."""
    bcc_parsed = [parse_formula(f) for f in bcc]
    b2_parsed = [parse_formula(f) for f in b2]
    return [master_composition(x, y, 100.0 * fraction) for x in bcc_parsed for y in b2_parsed]


@lru_cache(maxsize=4)
def _known_formulas() -> tuple[tuple[str, str], ...]:
    """(formula, origin) of the shipped known sets (before restriction to the design space)."""
    import matminer
    import pymatgen.analysis.compatibility as compatibility

    known = []
    archive = os.path.join(
        os.path.dirname(matminer.__file__), "utils", "data_files", "mp_transport", "transport_database.tar.xz"
    )
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".csv"))
        table = pd.read_csv(tar.extractfile(member), usecols=["pretty_formula"], encoding="utf-8")
    known += [(f, "materials_project_transport_subset") for f in table["pretty_formula"].dropna().unique()]
    path = os.path.join(list(compatibility.__path__)[0], "exp_compounds.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        known += [(entry["formula"], "pymatgen_experimental") for entry in json.load(handle)]
    return tuple(known)


def known_compositions(elements: Iterable[str], curated: Sequence[str] = ()) -> pd.DataFrame:
    """The known set for novelty: compounds of >= 2 of ``elements``, plus the curated formulas."""
    allowed = set(elements)
    rows = []
    for formula, origin in _known_formulas():
        symbols = set(re.findall(r"[A-Z][a-z]?", formula))
        if len(symbols) >= 2 and symbols <= allowed:
            try:
                rows.append({"formula": formula, "origin": origin, "composition": parse_formula(formula)})
            except FormulaError:
                continue
    for formula in curated:
        rows.append({"formula": formula, "origin": "curated", "composition": parse_formula(formula)})
    return pd.DataFrame(rows, columns=["formula", "origin", "composition"])


def canonical_key(formula: str) -> tuple[tuple[str, float], ...]:
    fractions = parse_formula(formula)
    return tuple(sorted((e, round(x, 3)) for e, x in fractions.items()))


def unique_at(rewards: pd.DataFrame, n: int = 100) -> float:
    """Share of distinct (BCC, B2) keys among the first ``n`` parsed triples."""
    parsed = rewards[rewards["master_composition"] != ""].head(n)
    if parsed.empty:
        return 0.0
    keys = {(canonical_key(r.bcc), canonical_key(r.b2)) for r in parsed.itertuples(index=False)}
    return len(keys) / len(parsed)


def source_metrics(
    source: str,
    rewards: pd.DataFrame,
    reference_fp: np.ndarray,
    known_fp: np.ndarray,
    cutoff: float = 10.0,
    novelty_cutoff: float = 2.0,
    worst_reward: float = -1121.0,
) -> tuple[dict, np.ndarray]:
    """The Table 1 row of one source (module doc), and its parsed samples' fingerprints (for curves)."""
    from alloypref.evaluation.fingerprints import fingerprints

    parsed = [m for m in master_fractions(rewards) if m is not None]
    generated_fp = fingerprints(parsed) if parsed else np.empty((0, reference_fp.shape[1]))
    cov = coverage(generated_fp, reference_fp, cutoff)
    n = len(rewards)
    novelty = (
        float((nearest_distances(generated_fp, known_fp)[0] > novelty_cutoff).mean())
        if len(parsed) and len(known_fp)
        else np.nan
    )
    reward = rewards["reward"].where(rewards["status"] == "ok", worst_reward).fillna(worst_reward)
    scored = rewards[rewards["database"] != ""]
    trusted = rewards["trusted"].astype(bool) & (rewards["database"] != "")
    all_rules = rewards["all_rules"].astype(bool) & (rewards["status"] == "ok")
    row = {
        "source": source,
        "n": n,
        "parse_rate": len(parsed) / n if n else 0.0,
        "coverage_recall": cov["coverage_recall"],
        "coverage_precision": cov["coverage_precision"],
        "coverage_precision_all": cov["coverage_precision"] * len(parsed) / n if n else 0.0,
        "amcd_recall": cov["amcd_recall"],
        "amcd_precision": cov["amcd_precision"],
        "novelty": novelty,
        "mean_reward": float(reward.mean()) if n else np.nan,
        "all_rules": float(all_rules.mean()) if n else np.nan,
        "unique_at_100": unique_at(rewards),
        "mean_db_coverage": float(scored["coverage"].mean()) if len(scored) else np.nan,
        "low_coverage_share": float(scored["low_coverage"].mean()) if len(scored) else np.nan,
        "untrusted_share": float((~scored["trusted"].astype(bool)).mean()) if len(scored) else np.nan,
        "n_trusted": int(trusted.sum()),
        "mean_reward_trusted": float(reward[trusted].mean()) if trusted.any() else np.nan,
        "all_rules_trusted": float(all_rules[trusted].mean()) if trusted.any() else np.nan,
    }
    return row, generated_fp


TABLE1_COLUMNS = {
    "source": "Source",
    "parse_rate": "Parse rate",
    "coverage_recall": "COV-R",
    "coverage_precision": "COV-P (parsed)",
    "coverage_precision_all": "COV-P (all)",
    "amcd_recall": "AMCD-R",
    "amcd_precision": "AMCD-P",
    "novelty": "Novelty",
    "mean_reward": "Mean reward",
    "all_rules": "All 4 rules",
    "unique_at_100": "Unique pairs @100",
    "mean_db_coverage": "DB coverage",
    "untrusted_share": "Untrusted",
    "mean_reward_trusted": "Mean reward (trusted)",
    "all_rules_trusted": "All 4 rules (trusted)",
}


def markdown_table(frame: pd.DataFrame, columns: Mapping[str, str], digits: int = 2) -> str:
    """A GitHub Markdown table of the chosen columns (numbers rounded)."""
    header = "| " + " | ".join(columns.values()) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = []
        for key in columns:
            value = getattr(row, key)
            if isinstance(value, float):
                cells.append(
                    "–" if np.isnan(value) else (f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:.1f}")
                )
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
