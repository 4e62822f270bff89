"""The measured cost of this project's code: the one table that scoring, the cost model and the rule
resources read.

Three uses, each with the figure it needs:

* **Shard balancing** (:func:`alloypref.scoring.shards.split_triples`) weighs element sets against
  each other with :func:`shard_cost_s`; only ratios matter there, so rough values balance as well.
* **The cost model** (:mod:`alloypref.cost_model`) sizes a whole run from :class:`MeasuredRates`.
* **Scoring job resources** (rule ``score``: ``score_mem_mb`` and ``score_runtime`` in
  ``rules/common.smk``) ask :func:`scoring_job_mem_mb` and :func:`scoring_job_minutes`, from the
  config's ``scoring.worker_mem_mb`` and ``scoring.cpu_s_per_candidate``; their schema defaults are
  :data:`SCORING_WORKER_MEM_MB` and :data:`SCORING_CPU_S_PER_CANDIDATE` (a test holds them equal),
  and a config may set measured values of its own (larger element sets need more memory).

Every figure names the benchmark or run that measured it. Seconds are CPU seconds of one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Shard balancing

#: Estimated CPU seconds to build (or load) and sample a new element set's system, by element count.
#: ``benchmarks/score_scaling.py`` measured 14.5-16.3 s per new set (mostly 5-element sets); other
#: element counts are scaled by ~1.9 per element (a larger system has more phases, sublattice species
#: and grid points).
SHARD_SET_COST_S = {1: 2.0, 2: 3.0, 3: 4.5, 4: 8.0, 5: 14.5, 6: 28.0}

#: Estimated CPU seconds to score one further candidate of a set already built
#: (``benchmarks/score_scaling.py``: 0.73-0.82 s).
SHARD_CANDIDATE_COST_S = 0.73

#: Estimated CPU seconds of a row answered without a solve (unparseable input).
SHARD_UNSOLVED_COST_S = 0.01

#: Growth of a new set's cost per element beyond the largest of :data:`SHARD_SET_COST_S`.
SHARD_SET_GROWTH_PER_ELEMENT = 1.9


def shard_cost_s(n_elements: int, n_candidates: int) -> float:
    """Estimated CPU seconds to score ``n_candidates`` of one element set of ``n_elements`` elements
    (0 elements: rows answered without a solve)."""
    if n_elements <= 0:
        return SHARD_UNSOLVED_COST_S * n_candidates
    largest = max(SHARD_SET_COST_S)
    build = SHARD_SET_COST_S.get(
        n_elements, SHARD_SET_COST_S[largest] * SHARD_SET_GROWTH_PER_ELEMENT ** (n_elements - largest)
    )
    return build + SHARD_CANDIDATE_COST_S * n_candidates


# --------------------------------------------------------------------------------------------------
# The cost model


@dataclass(frozen=True)
class MeasuredRates:
    """Measured throughput of each stage.

    GPU (one NVIDIA H200, ``benchmarks/gpu_throughput.py --size 8B``: Llama-3.1-8B shape, bf16, LoRA
    r 8 on q/v, 160-token prompt; README "GPU"): the shared-prompt path at its best batch, and the
    plain HF + PEFT loop (``*_plain``). CPU (the embedded model, one job on 2 threads, which keeps
    about one core busy; a CPU job's core-hours are its hours times its ``threads``): SFT 511 steps of
    64 examples in 109 s of the reduced medium run with the machine otherwise idle (another process
    on the second core slowed it ~10x); sampling the best-of-N pool of that run, 192 samples in 1.3 s;
    DPO the default run's rounds, 14 steps of 32 pairs in 6 s (no measurement with more pairs on CPU).
    Scoring (``benchmarks/score_scaling.py``, one core per worker): a cold element set costs 17.1 CPU s for its first candidate, of which 0.82 is the solve;
    warm (systems from the disk cache) the per-candidate mean is 1.62 CPU s at 40 candidates in 11
    sets, so a set's warm overhead (loading, sampling its grids) is (1.62 - 0.82) x 40 / 11 = 2.9 CPU s
    and building it 17.1 - 0.82 - 2.9 = 13.4 CPU s.
    """

    gpu_sft_examples_per_s: float = 294.6
    gpu_dpo_pairs_per_s: float = 119.8
    gpu_samples_per_s: float = 663.4
    gpu_sft_examples_per_s_plain: float = 69.0
    gpu_dpo_pairs_per_s_plain: float = 19.5
    gpu_samples_per_s_plain: float = 50.3
    cpu_sft_examples_per_s: float = 300.0
    cpu_dpo_pairs_per_s: float = 70.0
    cpu_samples_per_s: float = 153.0
    set_build_cpu_s: float = 13.4
    set_warm_cpu_s: float = 2.9
    candidate_cpu_s: float = 0.82


# --------------------------------------------------------------------------------------------------
# Scoring job resources (rule ``score``)

#: Measured peak memory (MB) of one solver worker plus its system builder
#: (``benchmarks/score_scaling.py``: 2,512-2,533 MB on 4-6-element sets); the schema default of
#: ``scoring.worker_mem_mb``. ``config/paper.yaml`` and ``config/medium.yaml`` set 5,900 (their up to
#: 7-element sets peaked at 6,138 MB for a job of one worker, the scorer's ~300 MB included).
SCORING_WORKER_MEM_MB = 2600

#: CPU seconds a candidate costs cold at ~3.6 candidates per element set, the set's build and grids
#: included (``benchmarks/score_scaling.py``: 4.72-5.30); the schema default of
#: ``scoring.cpu_s_per_candidate``.
SCORING_CPU_S_PER_CANDIDATE = 5.3

#: A scoring job asks this factor over its workers' measured peak memory ...
SCORE_MEM_MARGIN = 1.25
#: ... plus this for the scorer's own process (MB).
SCORER_PROCESS_MB = 1000
#: Its time is this factor over its measured CPU cost (shards balanced by estimated cost differ by up
#: to a third; a shared node runs slower), plus one candidate running to its time limit ...
SCORE_TIME_MARGIN = 2.0
#: ... and never under this many minutes.
SCORE_MIN_RUNTIME_MIN = 10


def scoring_job_mem_mb(workers: int, worker_mem_mb: float) -> int:
    """Memory (MB) of a scoring job of ``workers`` solver workers of ``worker_mem_mb`` MB each."""
    return int(SCORER_PROCESS_MB + SCORE_MEM_MARGIN * workers * worker_mem_mb)


def scoring_job_minutes(
    candidates: int, shards: int, workers: int, cpu_s_per_candidate: float, timeout_s: float
) -> int:
    """Minutes of one of ``shards`` scoring jobs of a source of ``candidates`` candidates: its share
    of the cold CPU cost (``cpu_s_per_candidate`` CPU s each) over its ``workers``, with margin, plus
    one candidate running to its ``timeout_s`` (s)."""
    per_shard = math.ceil(candidates / shards)
    cpu_s = per_shard * cpu_s_per_candidate
    minutes = SCORE_TIME_MARGIN * cpu_s / workers / 60 + timeout_s / 60
    return max(SCORE_MIN_RUNTIME_MIN, math.ceil(minutes))
