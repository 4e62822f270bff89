"""Scorer throughput: the project's scorer against naive pycalphad, side by side in one run.

20 candidates in 4 element sets of 5 candidates (4, 5, 5 and 6 elements) on mc_ni, over the
authors' 24-temperature grid.

* project: :func:`alloypref.scoring.score_triples` with a fresh backend and an empty cache folder
  (cold: every compiled system is built in the run), then again with the disk cache warm in a new
  backend (what a second shard or a rerun sees), and warm without the fine-grid pass (to show what
  the missed-ordering fix costs).
* naive: what a pycalphad user writes: one ``equilibrium()`` call per candidate over the whole grid,
  no models or phase records passed in, nothing reused. It is timed on ``--naive-per-set``
  candidates of each element set and scaled per candidate (said in the output).

Run: ``python benchmarks/score_throughput.py`` (add ``--naive-per-set 5`` to time naive on all 20).
The last line is ``speedup <naive s per candidate / project (cold) s per candidate>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import pandas as pd

from alloypref.calphad.backend import DEFAULT_TEMPERATURES_K
from alloypref.calphad.databases import DatabaseSettings, load_database
from alloypref.calphad.pycalphad_backend import PycalphadBackend
from alloypref.calphad.pycalphad_settings import PycalphadSettings
from alloypref.composition import master_from_text
from alloypref.reward import RewardSettings
from alloypref.scoring import ScoringSettings, score_triples

warnings.filterwarnings("ignore")

MC_NI = DatabaseSettings(
    "mc_ni",
    "mc_ni_v2.034.pycalphad.tdb",
    {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like", "NIAL": "b2", "LIQUID": "liquid"},
)

# (BCC, B2) per element set; five B2 volume percentages each -> 5 candidates per set.
ELEMENT_SETS = [
    ("Cr33Fe67", "NiAl"),  # Al-Cr-Fe-Ni (4)
    ("Nb50Mo50", "NiAl2Ti"),  # Al-Mo-Nb-Ni-Ti (5)
    ("Ti33Mo67", "AlVFe"),  # Al-Fe-Mo-Ti-V (5)
    ("Nb40Mo20Cr40", "CoAlTi2"),  # Al-Co-Cr-Mo-Nb-Ti (6)
]
VOLUMES = (25.0, 35.0, 45.0, 55.0, 65.0)


def candidates() -> pd.DataFrame:
    rows = []
    for s, (bcc, b2) in enumerate(ELEMENT_SETS):
        for v, volume in enumerate(VOLUMES):
            rows.append({"candidate_id": f"s{s}v{v}", "bcc": bcc, "b2": b2, "b2_volume_percent": volume})
    return pd.DataFrame(rows)


def naive_one(dbf, master: dict[str, float]) -> float:
    """One pycalphad equilibrium() over the whole grid, as a user would write it; returns seconds."""
    from pycalphad import equilibrium
    from pycalphad import variables as v

    components = [e.upper() for e in master] + ["VA"]
    phases = list(dbf.phases)
    elements = sorted(master)
    conditions = {v.N: 1, v.P: 101325, v.T: list(DEFAULT_TEMPERATURES_K)}
    for element in elements[:-1]:
        conditions[v.X(element.upper())] = master[element]
    start = time.perf_counter()
    equilibrium(dbf, components, phases, conditions)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--naive-per-set", type=int, default=1, help="naive candidates timed per element set")
    args = parser.parse_args()

    triples = candidates()
    options = ScoringSettings(DEFAULT_TEMPERATURES_K, RewardSettings(), timeout_s=0)
    with tempfile.TemporaryDirectory() as cache:
        load_database(MC_NI, cache)  # parse once; both sides get the parsed database for free

        start = time.perf_counter()
        cold = PycalphadBackend([MC_NI], PycalphadSettings(), cache)
        rewards, _ = score_triples(triples, cold, options)
        project_cold = time.perf_counter() - start

        start = time.perf_counter()
        warm = PycalphadBackend([MC_NI], PycalphadSettings(), cache)
        score_triples(triples, warm, options)
        project_warm = time.perf_counter() - start

        start = time.perf_counter()
        no_fine = PycalphadBackend([MC_NI], PycalphadSettings(pdens_fine=0), cache)
        score_triples(triples, no_fine, options)
        project_no_fine = time.perf_counter() - start

        dbf = load_database(MC_NI, cache)
    n = len(triples)
    print(f"candidates: {n} in {len(ELEMENT_SETS)} element sets; grid: {len(DEFAULT_TEMPERATURES_K)} temperatures")
    print(f"statuses: {rewards['status'].value_counts().to_dict()}")
    print(
        f"project (cold cache): {project_cold:.1f} s, {n / project_cold:.3f} candidates/s, {project_cold / n:.2f} s/candidate"
    )
    print(
        f"project (warm cache): {project_warm:.1f} s, {n / project_warm:.3f} candidates/s, {project_warm / n:.2f} s/candidate"
    )
    print(
        f"project (warm cache, no fine-grid pass, i.e. without the missed-ordering fix): {project_no_fine:.1f} s, "
        f"{project_no_fine / n:.2f} s/candidate"
    )

    naive_seconds = []
    for s, (bcc, b2) in enumerate(ELEMENT_SETS):
        for volume in VOLUMES[: args.naive_per_set]:
            seconds = naive_one(dbf, master_from_text(bcc, b2, volume))
            naive_seconds.append(seconds)
            print(f"naive set {s} ({bcc} + {b2} @ {volume:g} %): {seconds:.1f} s", flush=True)
    naive_per = sum(naive_seconds) / len(naive_seconds)
    print(
        f"naive pycalphad: timed {len(naive_seconds)} of {n} candidates, scaled per candidate: "
        f"{naive_per:.2f} s/candidate, {1 / naive_per:.3f} candidates/s"
    )
    import resource

    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"speedup vs warm cache: {naive_per / (project_warm / n):.1f}")
    print(f"speedup {naive_per / (project_cold / n):.1f}")


if __name__ == "__main__":
    main()
