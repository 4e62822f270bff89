"""What the killable solver process costs on the warm path: scoring in-process vs in the worker.

Two measurements, each alternating the two modes so that load on the machine hits both alike:

* CALPHAD: the 20 candidates of ``score_throughput.py`` (4 element sets, mc_ni, 24 temperatures)
  with a warm disk cache, ``--reps`` times per mode; medians are printed.
* round trip: ``--n-fake`` candidates on a backend that returns a ready phase table, so all that is
  timed is the worker's overhead (fork once per shard, one pipe round trip per candidate).

Run: ``python benchmarks/score_worker_overhead.py`` (``--skip-calphad`` for the round trip only).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from alloypref.calphad.backend import DEFAULT_TEMPERATURES_K
from alloypref.calphad.pycalphad_backend import PycalphadBackend
from alloypref.calphad.pycalphad_settings import PycalphadSettings
from alloypref.calphad.tables import Structure, phase_table
from alloypref.calphad.trust import TrustedChoice, TrustVerdict
from alloypref.reward import RewardSettings
from alloypref.scoring import ScoringSettings, score_triples

sys.path.insert(0, str(Path(__file__).parent))
from score_throughput import MC_NI, candidates  # noqa: E402

warnings.filterwarnings("ignore")


class ReadyBackend:
    """Answers every candidate at once with the same two-phase table."""

    name = "ready"

    def __init__(self, temperatures):
        self.table = phase_table(
            [
                {
                    "temperature_K": t,
                    "phase": p,
                    "structure": s,
                    "mole_fraction": 0.5,
                    "is_ordered": s == Structure.B2,
                    "order_parameter": 0.0,
                    "lattice_parameter_A": a,
                    "status": "ok",
                }
                for t in temperatures
                for p, s, a in (("BCC_B2#1", Structure.BCC, 3.0), ("BCC_B2#2", Structure.B2, 2.99))
            ]
        )

    def elements(self):
        return {"Nb", "Mo", "Al", "Ni"}

    def choose_database(self, composition):
        return "ready", 1.0

    def database_choices(self, composition, trust_evidence=None):
        return [TrustedChoice(TrustVerdict("ready", True, ()), 1.0)]

    def phase_table(self, composition, temperatures_K, database):
        return self.table


def timed(triples, backend, options) -> float:
    start = time.perf_counter()
    rewards, _ = score_triples(triples, backend, options)
    assert (rewards.status == "ok").all(), rewards.status.value_counts()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=2, help="warm CALPHAD runs per mode")
    parser.add_argument("--n-fake", type=int, default=500, help="candidates of the round-trip measurement")
    parser.add_argument("--skip-calphad", action="store_true")
    args = parser.parse_args()
    in_process = ScoringSettings(DEFAULT_TEMPERATURES_K, RewardSettings(), timeout_s=300, isolate=False)
    worker = dataclasses.replace(in_process, isolate=True)

    fake = pd.DataFrame(
        [
            {"candidate_id": f"f{i}", "bcc": "Nb", "b2": "NiAl", "b2_volume_percent": 20 + 50 * i / args.n_fake}
            for i in range(args.n_fake)
        ]
    )
    backend = ReadyBackend(DEFAULT_TEMPERATURES_K)
    times = {"in-process": [], "worker": []}
    for _ in range(3):
        times["in-process"].append(timed(fake, backend, in_process))
        times["worker"].append(timed(fake, backend, worker))
    per = {mode: statistics.median(t) / args.n_fake * 1e3 for mode, t in times.items()}
    print(
        f"round trip, {args.n_fake} candidates, median of 3: in-process {per['in-process']:.2f} ms/candidate, "
        f"worker {per['worker']:.2f} ms/candidate, overhead {per['worker'] - per['in-process']:.2f} ms/candidate"
    )

    if args.skip_calphad:
        return
    triples = candidates()
    with tempfile.TemporaryDirectory() as cache:
        timed(triples, PycalphadBackend([MC_NI], PycalphadSettings(), cache), worker)  # builds the disk cache
        times = {"in-process": [], "worker": []}
        for _ in range(args.reps):
            for mode, options in (("in-process", in_process), ("worker", worker)):
                seconds = timed(triples, PycalphadBackend([MC_NI], PycalphadSettings(), cache), options)
                times[mode].append(seconds)
                print(f"warm {mode}: {seconds:.1f} s, {seconds / len(triples):.2f} s/candidate", flush=True)
    for mode, values in times.items():
        print(
            f"warm CALPHAD {mode}: median {statistics.median(values) / len(triples):.2f} s/candidate over {len(values)} runs"
        )


if __name__ == "__main__":
    main()
