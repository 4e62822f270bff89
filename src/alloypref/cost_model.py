"""The cost model: GPU-hours and CPU core-hours per stage of a configuration, from measured rates.

To size a cluster allocation before submitting (``alloypref cost-model --config config/paper.yaml``).
Every rate is a measurement of this project's code (:class:`alloypref.measured_rates.MeasuredRates`
names the benchmark or run); every count comes from the config and the design space, through the
same functions the workflow uses (:mod:`alloypref.sources`, :mod:`alloypref.lm.iterative`). Counts are upper bounds
where the run decides them: preference pairs assume every sample is usable, the budget-matched
baselines their largest budget, scoring that a source meets as many element sets as it can.

Scoring cost of one source of ``c`` candidates that can fall in ``S`` element sets:
``min(c, S) x set_warm_cpu_s + c x candidate_cpu_s``, plus, once per run (the disk cache is shared),
``set_build_cpu_s`` for each element set any source meets. Model samples fall in the element sets of
the curated BCC x B2 pairs; the random searches in those of every enumerated pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from alloypref.design_space import curated_lists
from alloypref.lm.iterative import pool_size, samples_per_round
from alloypref.lm.registry import ModelSettings, sampling_n
from alloypref.measured_rates import MeasuredRates
from alloypref.sources import SFT, budget_kinds, model_source, round_stage, source_names, source_sizes

#: Columns of :func:`cost_table`.
COST_COLUMNS = ("stage", "jobs", "work", "unit", "gpu_hours", "gpu_hours_plain", "cpu_core_hours")


@dataclass(frozen=True)
class DesignSpaceSize:
    """What the cost of a run depends on in its design space: SFT triples, and the element sets that
    model samples (curated pairs) and random searches (enumerated pairs) can fall in."""

    triples: int
    model_element_sets: int
    random_element_sets: int


def _element_sets(bcc: pd.Series, b2: pd.Series) -> int:
    left = {frozenset(text.split("-")) for text in bcc}
    right = {frozenset(text.split("-")) for text in b2}
    return len({a | b for a in left for b in right})


def design_space_size(config: Mapping, curation: pd.DataFrame) -> DesignSpaceSize:
    """Sizes from a curation table (``FILTER_SCHEMA``: a shipped design space's, or a run's
    ``design_space/curation.parquet``) under the config's ``min_coverage`` and volumes per pair."""
    bcc, b2, _ = curated_lists(curation, config["calphad"]["min_coverage"])
    enumerated = curation[curation["status"] != "invalid"]
    return DesignSpaceSize(
        triples=len(bcc) * len(b2) * config["design_space"]["volume"]["per_pair"],
        model_element_sets=_element_sets(bcc["elements"], b2["elements"]),
        random_element_sets=_element_sets(
            enumerated.loc[enumerated["kind"] == "bcc", "elements"],
            enumerated.loc[enumerated["kind"] == "b2", "elements"],
        ),
    )


def _row(stage, jobs, work, unit, gpu=0.0, gpu_plain=0.0, cpu=0.0) -> dict:
    return dict(zip(COST_COLUMNS, (stage, jobs, work, unit, gpu, gpu_plain, cpu), strict=True))


def _train_row(stage, jobs, work, unit, spec, on_gpu, gpu_rate, gpu_rate_plain, cpu_rate):
    if on_gpu:
        return _row(stage, jobs, work, unit, work / gpu_rate / 3600, work / gpu_rate_plain / 3600)
    return _row(stage, jobs, work, unit, cpu=work / cpu_rate / 3600 * spec.threads)


def source_scoring(config: Mapping, size: DesignSpaceSize, rates: MeasuredRates = MeasuredRates()) -> pd.DataFrame:
    """CPU seconds of scoring each source of known size (columns ``source``, ``candidates``,
    ``element_sets``, ``new_sets``, ``cpu_s``), in the order the workflow meets them: a set is built
    by the first source that meets it (``new_sets``), later sources load it from the disk cache."""
    random_sources = set(source_names(config).random_searches)
    built = {"model": 0, "random": 0}
    rows = []
    for source, n in source_sizes(config).items():
        if n is None:  # example triples, external CSVs: their files decide
            continue
        kind = "random" if source in random_sources else "model"
        reachable = size.random_element_sets if kind == "random" else size.model_element_sets
        met = min(n, reachable)
        new = max(0, met - built[kind])
        built[kind] = max(built[kind], met)
        cpu_s = new * rates.set_build_cpu_s + met * rates.set_warm_cpu_s + n * rates.candidate_cpu_s
        rows.append({"source": source, "candidates": n, "element_sets": met, "new_sets": new, "cpu_s": cpu_s})
    return pd.DataFrame(rows, columns=["source", "candidates", "element_sets", "new_sets", "cpu_s"])


def cost_table(config: Mapping, size: DesignSpaceSize, rates: MeasuredRates = MeasuredRates()) -> pd.DataFrame:
    """One row per stage (:data:`COST_COLUMNS`): jobs, work in its unit, GPU-hours on the
    shared-prompt path and on the plain loop (GPU models), CPU core-hours (scoring, CPU models)."""
    rounds = config["iterative_dpo"]["rounds"]
    budget = config["iterative_dpo"]["budget_baselines"]
    rows = []
    for name, entry in config["models"].items():
        spec = ModelSettings.from_config(name, entry)
        gpu = bool(entry.get("gpu"))
        examples = size.triples * (1 - config["training"]["eval_fraction"]) * spec.sft.epochs
        rows.append(
            _train_row(
                f"sft ({name})",
                1,
                examples,
                "examples",
                spec,
                gpu,
                rates.gpu_sft_examples_per_s,
                rates.gpu_sft_examples_per_s_plain,
                rates.cpu_sft_examples_per_s,
            )
        )
        # round 1 pairs the SFT samples, later rounds the previous policy's; k rejected per chosen
        policy_samples = [sampling_n(config, name)] + [samples_per_round(config, name)] * (rounds - 1)
        chosen = sum(math.floor(config["pairs"]["top_fraction"] * n) for n in policy_samples)
        rows.append(
            _train_row(
                f"dpo_round ({name})",
                rounds,
                chosen * config["pairs"]["k"] * spec.dpo.epochs,
                "pairs",
                spec,
                gpu,
                rates.gpu_dpo_pairs_per_s,
                rates.gpu_dpo_pairs_per_s_plain,
                rates.cpu_dpo_pairs_per_s,
            )
        )
        stages = 1 + rounds + (name in config["grpo"]["models"]) + (1 if budget else 0)
        samples = (
            sampling_n(config, name) * (1 + (name in config["grpo"]["models"]))
            + rounds * samples_per_round(config, name)
            + (pool_size(config, name) if budget else 0)
        )
        rows.append(
            _train_row(
                f"sample ({name})",
                stages,
                samples,
                "samples",
                spec,
                gpu,
                rates.gpu_samples_per_s,
                rates.gpu_samples_per_s_plain,
                rates.cpu_samples_per_s,
            )
        )
    # Job counts are the rules': rule score runs scoring.shards jobs for every scored source (the
    # example triples and external CSVs too, whose size only their files know: no work or cost here),
    # rule cross_database one job for every evaluated source (not the DPO rounds, not the examples).
    names = source_names(config)
    scoring = source_scoring(config, size, rates)
    rows.append(
        _row(
            "score",
            len(names.scored) * config["scoring"]["shards"],
            float(scoring["candidates"].sum()),
            "candidates",
            cpu=float(scoring["cpu_s"].sum()) / 3600,
        )
    )
    other_databases = len(config["calphad"]["databases"]) - 1
    cross = config["cross_database"]["sample_per_source"] * len(names.evaluated) * other_databases
    cross_s = cross * (rates.set_build_cpu_s + rates.set_warm_cpu_s + rates.candidate_cpu_s)  # a new set each
    rows.append(_row("cross_database", len(names.evaluated), cross, "candidates", cpu=cross_s / 3600))
    return pd.DataFrame(rows, columns=list(COST_COLUMNS))


def totals(table: pd.DataFrame) -> dict[str, float]:
    """Summed GPU-hours (shared prompt, plain) and CPU core-hours of a :func:`cost_table`."""
    return {key: float(table[key].sum()) for key in ("gpu_hours", "gpu_hours_plain", "cpu_core_hours")}


def wall_hours(
    config: Mapping, size: DesignSpaceSize, cores: int, gpus: int = 1, rates: MeasuredRates = MeasuredRates()
) -> dict[str, float]:
    """An estimate of a run's wall time on one machine of ``cores`` cores and ``gpus`` GPUs: the larger
    of the longest model's chain (SFT, then per round DPO, sampling and scoring, then the budget
    baselines' scoring; CPU models at their ``threads``, each scoring stage on
    ``min(cores, shards x workers)`` cores) and the total work spread over the machine. It leaves out
    job start-up and the stages the chain waits on least (report card, metrics)."""
    table = cost_table(config, size, rates).set_index("stage")
    scoring = source_scoring(config, size, rates).set_index("source")["cpu_s"] / 3600
    width = min(cores, config["scoring"]["shards"] * config["scoring"]["workers"])
    chains = {}
    for name, entry in config["models"].items():
        threads = max(1, int(entry.get("threads", 1)))
        train = sum(
            table.loc[f"{stage} ({name})", "gpu_hours" if entry.get("gpu") else "cpu_core_hours"]
            / (1 if entry.get("gpu") else threads)
            for stage in ("sft", "dpo_round", "sample")
        )
        rounds = range(1, config["iterative_dpo"]["rounds"] + 1)
        chain_sources = [model_source(name, SFT)] + [model_source(name, round_stage(r)) for r in rounds]
        score = sum(scoring[s] for s in chain_sources) / width
        baselines = [model_source(name, kind) for kind in budget_kinds(config)]
        score += sum(scoring[s] for s in baselines) / width  # the two share the machine
        chains[name] = train + score
    total = totals(table)
    return {
        "chain_hours": max(chains.values()),
        "cpu_bound_hours": total["cpu_core_hours"] / cores,
        "gpu_bound_hours": total["gpu_hours"] / max(gpus, 1),
        "hours": max(max(chains.values()), total["cpu_core_hours"] / cores, total["gpu_hours"] / max(gpus, 1)),
    }
