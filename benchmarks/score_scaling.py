"""Paper-scale scoring cost: cold and warm candidates per CPU-second beside naive pycalphad, in one run.

The sample: ``--sets`` element sets (default 11) with about 3.6 candidates each (default 40
candidates), the ratio of the paper's scale (30,000 language-model candidates fall into ~8,000
element sets). Each set pairs a BCC formula and a B2 formula enumerated from the shipped databases'
elements with roles (:mod:`alloypref.design_space`, the default ``element_roles``): the number of
BCC elements (1-3) and of B2 elements (2-4) uniform, then a formula of that size uniform, B2 volume
% drawn as in the design space (normal, mean 45, sd 10, clipped to 20-70); every candidate of a set
has its own BCC concentrations or volume. Seed ``--seed`` (default 0); sets no configured database
holds are redrawn.

Phases, each in a fresh interpreter (so CPU time and peak memory are its own; naive runs beside
cold), with ``--workers`` solver workers (default 2; CPU time is summed over them) over the
authors' 24 temperatures on the default databases:

* cold: an empty system cache (databases already parsed): every element set's system is built,
  compiled and written to the disk cache, its grids sampled, its candidates solved.
* warm: a second process on that cache: nothing is compiled (systems load from disk); grids are
  sampled again (they are not cached: see README) and candidates solved.
* naive: what a pycalphad user writes without reuse: ``equilibrium()`` for one candidate at one
  temperature, no models or phase records passed in (so everything is compiled on every call). It
  is timed on ``--naive-calls`` candidate-temperatures (default 3, the first candidate of the first
  sets, at 1273.15 K) and scaled to 24 temperatures per candidate (said in the output).

CPU seconds are user + system time of the phase's process and every process it waited for
(solver workers, system builders). Peak memory: the scorer process, and the largest of its child
processes (a solver worker, or a builder process that compiles a system while its worker waits,
so one worker can need both at once).

Projection for ``--paper-candidates`` (30,000) in ``--paper-sets`` (8,000) element sets: each set
is built once in a whole run (shards take whole element sets), so core-hours = sets x (cold cost
of a set) + candidates x (warm cost of a candidate after its set's first), both from the cold phase.

Run: ``nice -n 10 python benchmarks/score_scaling.py`` (PYTHONPATH=src). The last line is
``warm_speedup <naive CPU s per candidate / warm CPU s per candidate>``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

TEMPERATURE_NAIVE_K = 1273.15


def settings(cache_dir: str):
    from alloypref.config import calphad_settings, load

    return calphad_settings(load(overrides={"calphad": {"cache_dir": str(cache_dir)}}))


def sample(n_sets: int, n_candidates: int, seed: int, cache_dir: str) -> pd.DataFrame:
    """The fixed sample (see module doc)."""
    from alloypref.backend_factory import make_backend
    from alloypref.composition import master_from_text, parse_formula
    from alloypref.config import load
    from alloypref.design_space import enumerate_b2, enumerate_bcc, formula_text, roles_from_config

    backend = make_backend(settings(cache_dir))
    roles = roles_from_config(load()["element_roles"], None, backend.elements())
    bcc_by_size: dict[int, list] = {}
    for fractions in enumerate_bcc(roles.bcc_formers, 3):
        bcc_by_size.setdefault(len(fractions), []).append(fractions)
    b2_by_size: dict[int, list] = {}
    for fractions, order in enumerate_b2(roles):
        b2_by_size.setdefault(len(fractions), []).append(formula_text(fractions, order))
    rng = np.random.default_rng(seed)
    per_set = [n_candidates // n_sets + (1 if i < n_candidates % n_sets else 0) for i in range(n_sets)]
    rows, seen = [], set()
    while len(seen) < n_sets:
        n_bcc = int(rng.integers(1, 4))
        n_b2 = int(rng.choice(sorted(b2_by_size)))
        base = bcc_by_size[n_bcc][int(rng.integers(len(bcc_by_size[n_bcc])))]
        b2 = b2_by_size[n_b2][int(rng.integers(len(b2_by_size[n_b2])))]
        elements = tuple(sorted(set(base) | set(parse_formula(b2))))
        if elements in seen:
            continue
        same_bcc = [f for f in bcc_by_size[n_bcc] if set(f) == set(base)]
        volumes = np.clip(rng.normal(45.0, 10.0, size=per_set[len(seen)]), 20.0, 70.0)
        candidates = []
        for volume in volumes:
            bcc = formula_text(same_bcc[int(rng.integers(len(same_bcc)))])
            master = master_from_text(bcc, b2, float(volume))
            if backend.choose_database(master)[0] is None:
                break
            candidates.append((bcc, b2, round(float(volume), 2)))
        if len(candidates) < len(volumes):
            continue  # no database holds this set: draw another
        for k, (bcc, b2_text, volume) in enumerate(candidates):
            rows.append(
                {"candidate_id": f"s{len(seen):02d}c{k}", "bcc": bcc, "b2": b2_text, "b2_volume_percent": volume}
            )
        seen.add(elements)
    return pd.DataFrame(rows)


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def phase_score(triples_path: str, cache_dir: str, workers: int) -> dict:
    """Score the sample in this process (a fresh interpreter); CPU, wall, peak memory, per-set costs."""
    from alloypref.backend_factory import make_backend
    from alloypref.scoring import ScoringSettings, read_triples, score_triples

    config = settings(cache_dir)
    triples = read_triples(triples_path)
    backend = make_backend(config)
    for name in backend.specs:  # parsed databases come from the cache: not part of scoring's cost
        backend.coverage(name)
    options = ScoringSettings(config.temperatures_K, config.reward, config.min_coverage, timeout_s=0, workers=workers)
    cpu, wall = cpu_seconds(), time.perf_counter()
    rewards, _ = score_triples(triples, backend, options)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    # wall seconds of each set's first candidate (system + grids + one solve) and of the others
    rewards = rewards.assign(set=rewards["candidate_id"].str[:3])
    first = rewards.groupby("set")["seconds"].max()  # the first candidate of a set carries its set's cost
    rest = rewards["seconds"].sum() - first.sum()
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "candidates": len(rewards),
        "sets": int(rewards["set"].nunique()),
        "statuses": rewards["status"].value_counts().to_dict(),
        "first_wall_s": float(first.sum()),
        "rest_wall_s": float(rest),
        "rest_candidates": int(len(rewards) - rewards["set"].nunique()),
        "self_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "elements": rewards.groupby("set")["elements"].first().str.count("-").add(1).value_counts().to_dict(),
    }


def phase_naive(triples_path: str, cache_dir: str, calls: int) -> dict:
    """``equilibrium()`` per candidate-temperature, nothing reused; CPU seconds per call."""
    from pycalphad import equilibrium
    from pycalphad import variables as v

    from alloypref.backend_factory import make_backend
    from alloypref.composition import master_from_text
    from alloypref.scoring import read_triples

    triples = read_triples(triples_path)
    backend = make_backend(settings(cache_dir))
    firsts = triples[triples["candidate_id"].str.endswith("c0")].head(calls)
    seconds = []
    for row in firsts.itertuples(index=False):
        master = master_from_text(row.bcc, row.b2, row.b2_volume_percent)
        database, _ = backend.choose_database(master)
        dbf = backend.database(database)  # parsed and BCC-fixed, as the scorer uses it
        elements = sorted(master)
        conditions = {v.N: 1, v.P: 101325, v.T: TEMPERATURE_NAIVE_K}
        for element in elements[:-1]:
            conditions[v.X(element.upper())] = master[element]
        start = cpu_seconds()
        equilibrium(dbf, [e.upper() for e in elements] + ["VA"], list(dbf.phases), conditions)
        seconds.append(cpu_seconds() - start)
        print(
            f"naive: {'-'.join(elements)} on {database} at {TEMPERATURE_NAIVE_K} K: {seconds[-1]:.1f} CPU s", flush=True
        )
    return {"cpu_s_per_call": seconds}


def start_phase(args, phase: str, triples_path: Path, cache_dir: Path) -> tuple[subprocess.Popen, str]:
    """Start one phase in a fresh interpreter; :func:`finish_phase` reads back its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--triples",
        str(triples_path),
        "--cache",
        str(cache_dir),
        "--result",
        out,
        "--naive-calls",
        str(args.naive_calls),
        "--workers",
        str(args.workers),
    ]
    return subprocess.Popen(command), out


def finish_phase(started: tuple[subprocess.Popen, str]) -> dict:
    process, out = started
    if process.wait() != 0:
        raise RuntimeError(f"phase {process.args[3]} failed (exit code {process.returncode})")
    result = json.loads(Path(out).read_text(encoding="utf-8"))
    os.unlink(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", type=int, default=11, help="element sets in the sample")
    parser.add_argument("--candidates", type=int, default=40, help="candidates in the sample (>= 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-calls", type=int, default=3, help="candidate-temperatures timed for naive pycalphad")
    parser.add_argument("--workers", type=int, default=2, help="solver workers of the cold and warm phases")
    parser.add_argument("--paper-candidates", type=int, default=30_000)
    parser.add_argument("--paper-sets", type=int, default=8_000)
    parser.add_argument("--phase", choices=["cold", "warm", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--triples", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        if args.phase == "naive":
            result = phase_naive(args.triples, args.cache, args.naive_calls)
        else:
            result = phase_score(args.triples, args.cache, args.workers)
        Path(args.result).write_text(json.dumps(result), encoding="utf-8")
        return

    with tempfile.TemporaryDirectory(prefix="score-scaling-") as scratch:
        cache_dir = Path(scratch) / "cache"
        triples = sample(args.sets, args.candidates, args.seed, str(cache_dir))  # parses the databases once
        triples_path = Path(scratch) / "triples.csv"
        triples.to_csv(triples_path, index=False)
        print(f"sample: {len(triples)} candidates in {triples['candidate_id'].str[:3].nunique()} element sets")
        # naive needs only the parsed databases: it runs beside the cold phase (each counts its own CPU)
        naive_run = start_phase(args, "naive", triples_path, cache_dir)
        cold = finish_phase(start_phase(args, "cold", triples_path, cache_dir))
        warm = finish_phase(start_phase(args, "warm", triples_path, cache_dir))
        naive = finish_phase(naive_run)

    n = cold["candidates"]
    print(f"element counts of the sets: {dict(sorted(cold['elements'].items()))}; statuses {cold['statuses']}")
    for name, phase in (("cold", cold), ("warm", warm)):
        print(
            f"{name}: {phase['cpu_s']:.1f} CPU s, {phase['wall_s']:.1f} wall s, "
            f"{n / phase['cpu_s']:.3f} candidates per CPU-second ({phase['cpu_s'] / n:.2f} CPU s/candidate), "
            f"peak memory: scorer {phase['self_peak_mb']:.0f} MB, largest child {phase['child_peak_mb']:.0f} MB"
        )
    per_call = float(np.mean(naive["cpu_s_per_call"]))
    naive_per_candidate = per_call * 24
    print(
        f"naive pycalphad: {per_call:.1f} CPU s per equilibrium() call (mean of {len(naive['cpu_s_per_call'])} "
        f"candidate-temperatures), x 24 temperatures = {naive_per_candidate:.0f} CPU s/candidate, "
        f"{1 / naive_per_candidate:.5f} candidates per CPU-second"
    )
    # Cold cost split into a set's share and a further candidate's, by shares of the candidates'
    # solve times (wall seconds in their worker) in the cold phase, scaled to its CPU seconds.
    scale = cold["cpu_s"] / (cold["first_wall_s"] + cold["rest_wall_s"])
    per_extra = cold["rest_wall_s"] * scale / max(cold["rest_candidates"], 1)
    per_set = (cold["first_wall_s"] * scale - per_extra * cold["sets"]) / cold["sets"] + per_extra
    core_hours = (args.paper_sets * (per_set - per_extra) + args.paper_candidates * per_extra) / 3600
    print(
        f"cold cost: {per_set:.1f} CPU s for a set's first candidate (system, grids, solve), "
        f"{per_extra:.2f} CPU s for each further candidate of a set"
    )
    worker_mb = warm["child_peak_mb"] + cold["child_peak_mb"]
    print(
        f"per-worker peak memory: {warm['child_peak_mb']:.0f} MB (warm worker) + {cold['child_peak_mb']:.0f} MB "
        f"(largest cold child, a builder at most) = {worker_mb:.0f} MB"
    )
    print(
        f"projected: {args.paper_candidates} candidates in {args.paper_sets} element sets: "
        f"{core_hours:.1f} core-hours ({core_hours / 64:.2f} h on 64 cores)"
    )
    print(f"warm_speedup {naive_per_candidate / (warm['cpu_s'] / n):.1f}")


if __name__ == "__main__":
    main()
