"""The cost model: counts from the config by hand, scoring cost by its stated formula, the CLI."""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alloypref import config as config_module
from alloypref.cli import main
from alloypref.cost_model import (
    DesignSpaceSize,
    cost_table,
    design_space_size,
    source_scoring,
    wall_hours,
)
from alloypref.measured_rates import MeasuredRates
from alloypref.sources import SOURCE_PATTERN, source_names, source_sizes

RATES = MeasuredRates()
REPO = Path(__file__).resolve().parents[1]


def small_config(**overrides):
    cfg = {
        "models": {"tiny": {"source": "tiny", "threads": 2, "sampling": {"n": 100}, "sft": {"epochs": 3}}},
        "iterative_dpo": {"rounds": 2},
        "pairs": {"top_fraction": 0.25, "k": 20},
        "training": {"eval_fraction": 0.1},
        "scoring": {"shards": 2},
    }
    cfg.update(overrides)
    return config_module.validate(cfg)


def test_sources_and_their_sizes_follow_the_config():
    sizes = source_sizes(small_config())
    # SFT, the final DPO source, two rounds, the budget-matched baselines (100 + 2 x 100 calls), random
    assert sizes == {
        "tiny-sft": 100,
        "tiny-dpo": 100,
        "tiny-dpo_r1": 100,
        "tiny-dpo_r2": 100,
        "tiny-bestofn": 300,
        "tiny-random": 300,
        "random": 100,
        "example": None,
    }
    off = source_sizes(small_config(iterative_dpo={"rounds": 1, "budget_baselines": False, "samples_per_round": 40}))
    assert off == {"tiny-sft": 100, "tiny-dpo": 40, "tiny-dpo_r1": 40, "random": 100, "example": None}


def test_the_costed_sources_are_the_scored_sources_of_the_workflow():
    """The cost model sizes the sources the rules score (both take the names from alloypref.sources),
    and each name fits the rules' {source} wildcard."""
    import re

    api = {"base_url": "http://localhost:1/v1", "model": "m", "method": "few_shot", "n": 3}
    config = small_config(grpo={"models": ["tiny"]}, baselines={"external": {"mine": "x.csv"}, "api": {"theirs": api}})
    names = source_names(config)
    assert sorted(source_sizes(config)) == sorted(names.scored)
    assert names.evaluated == ["tiny-sft", "tiny-dpo", "tiny-grpo", "tiny-bestofn", "tiny-random"] + [
        "random",
        "mine",
        "theirs",
    ]
    assert names.random_searches == ["random", "tiny-random"]
    assert all(re.fullmatch(SOURCE_PATTERN, name) for name in names.scored)


def test_training_and_sampling_rows_count_the_work_by_hand():
    table = cost_table(small_config(), DesignSpaceSize(300, 10, 50)).set_index("stage")
    assert table.loc["sft (tiny)", "work"] == pytest.approx(300 * 0.9 * 3)  # triples x train share x epochs
    assert table.loc["dpo_round (tiny)", "work"] == (25 + 25) * 20  # floor(0.25 x 100) chosen x k, 2 rounds
    assert table.loc["sample (tiny)", "work"] == 100 + 2 * 100 + 2 * 300  # SFT, rounds, best-of-N pool
    # a CPU job holds its threads (2) for as long as the measured rate of one job takes
    assert table.loc["sft (tiny)", "cpu_core_hours"] == pytest.approx(810 / RATES.cpu_sft_examples_per_s / 3600 * 2)
    assert table.loc["sft (tiny)", "gpu_hours"] == 0  # no gpu: true, a CPU model
    gpu = small_config(models={"big": {"source": "local", "path": "/m", "gpu": True, "sampling": {"n": 100}}})
    row = cost_table(gpu, DesignSpaceSize(300, 10, 50)).set_index("stage").loc["sft (big)"]
    assert row["gpu_hours"] == pytest.approx(270 / RATES.gpu_sft_examples_per_s / 3600) and row["cpu_core_hours"] == 0


def test_scoring_builds_each_element_set_once_and_loads_it_warm_afterwards():
    scoring = source_scoring(small_config(), DesignSpaceSize(300, 10, 50)).set_index("source")
    # the SFT samples meet all 10 model sets first; later model sources load them
    assert scoring.loc["tiny-sft", "new_sets"] == 10 and scoring.loc["tiny-dpo_r1", "new_sets"] == 0
    b, w, c = RATES.set_build_cpu_s, RATES.set_warm_cpu_s, RATES.candidate_cpu_s
    assert scoring.loc["tiny-sft", "cpu_s"] == pytest.approx(10 * b + 10 * w + 100 * c)
    assert scoring.loc["tiny-bestofn", "cpu_s"] == pytest.approx(10 * w + 300 * c)
    # random search: the 50 enumerated sets, built by the budget-matched random search first
    assert scoring.loc["tiny-random", "cpu_s"] == pytest.approx(50 * b + 50 * w + 300 * c)
    assert scoring.loc["random", "cpu_s"] == pytest.approx(50 * w + 100 * c)
    row = cost_table(small_config(), DesignSpaceSize(300, 10, 50)).set_index("stage").loc["score"]
    # 2 shards of each of the 8 scored sources, the example triples too (their size unknown: no work)
    assert row["jobs"] == 8 * 2 and row["work"] == 1100
    assert row["cpu_core_hours"] == pytest.approx(scoring["cpu_s"].sum() / 3600)


def test_design_space_size_counts_triples_and_element_sets():
    def row(kind, formula, elements, keep=True):
        return {
            "kind": kind,
            "formula": formula,
            "elements": elements,
            "keep": keep,
            "status": "ok",
            "coverage": 1.0,
            "trusted": True,
        }

    curation = pd.DataFrame(
        [
            row("bcc", "Mo", "Mo"),
            row("bcc", "MoNb", "Mo-Nb"),
            row("bcc", "Ti", "Ti", keep=False),
            row("b2", "AlNi", "Al-Ni"),
            row("b2", "NbNi", "Nb-Ni", keep=False),
        ]
    )
    size = design_space_size(small_config(), curation)
    assert size.triples == 2 * 1 * 3  # kept BCC x kept B2 x volumes per pair (default 3)
    assert size.model_element_sets == 2  # {Al Mo Ni}, {Al Mo Nb Ni}
    # every enumerated pair: Al-Mo-Ni, Mo-Nb-Ni (twice), Al-Mo-Nb-Ni, Al-Ni-Ti, Nb-Ni-Ti
    assert size.random_element_sets == 5


def test_cli_costs_a_shipped_config_and_names_what_a_computed_one_lacks(capsys, tmp_path):
    assert main(["cost-model", "--config", str(REPO / "config/medium.yaml"), "--cores", "32"]) == 0
    out = capsys.readouterr().out
    assert "| sft (tiny)" in out and "CPU core-hours" in out and "on one machine of 32 cores" in out
    assert main(["cost-model", "--config", str(REPO / "config/config.yaml")]) == 2
    assert "--design-space" in capsys.readouterr().err
    assert main(["cost-model", "--config", str(REPO / "config/config.yaml"), "--design-space", str(tmp_path)]) == 2
    assert "curation.parquet" in capsys.readouterr().err


def test_paper_dpo_pairs_match_the_papers_k():
    paper = config_module.load(REPO / "config/paper.yaml")
    table = cost_table(paper, DesignSpaceSize(34128, 1257, 8242)).set_index("stage")
    # 1,250 chosen (a quarter of 5,000) x k 100 per round, 3 rounds
    assert table.loc["dpo_round (llama)", "work"] == 3 * math.floor(0.25 * 5000) * 100


def test_wall_time_is_the_longest_chain_or_the_work_over_the_machine():
    config, size = small_config(), DesignSpaceSize(300, 10, 50)
    scoring = source_scoring(config, size).set_index("source")["cpu_s"]
    training_s = 810 / RATES.cpu_sft_examples_per_s + 1000 / RATES.cpu_dpo_pairs_per_s + 900 / RATES.cpu_samples_per_s
    # SFT, the two rounds, then both budget baselines, each scoring stage on min(4 cores, 2 shards x 1 worker)
    chain = training_s + scoring[["tiny-sft", "tiny-dpo_r1", "tiny-dpo_r2", "tiny-bestofn", "tiny-random"]].sum() / 2
    wall = wall_hours(config, size, cores=4)
    assert wall["chain_hours"] == pytest.approx(chain / 3600)
    total_core_hours = cost_table(config, size)["cpu_core_hours"].sum()
    assert wall["cpu_bound_hours"] == pytest.approx(total_core_hours / 4)
    assert wall["hours"] == pytest.approx(max(chain / 3600, total_core_hours / 4))


def test_the_medium_config_stays_within_its_stated_two_hours_on_16_cores():
    from alloypref.shipped_design_space import load_shipped

    medium = config_module.load(REPO / "config/medium.yaml")
    size = design_space_size(medium, load_shipped("paper").curation)
    assert size.triples == 4650  # 310 BCC x 5 B2 x 3 volumes
    assert wall_hours(medium, size, cores=16)["hours"] <= 2.0  # config/medium.yaml's header


# The stages the cost table rows name, by the rule that runs their jobs (rows "sft (llama)" and so
# on sum over the models).
COSTED_RULES = ("sft", "dpo_round", "sample", "score", "cross_database")


@pytest.mark.workflow
@pytest.mark.parametrize("name", ["config", "medium", "paper"])
def test_cost_model_job_counts_are_the_dry_runs_per_rule(tmp_path, name):
    """The cost table's jobs per stage equal the jobs Snakemake plans for that stage's rule."""
    from .helpers import dry_run_job_counts, paper_config_with_model_folders, run

    path = paper_config_with_model_folders(tmp_path, name)  # stand-in folders for local models
    fresh = yaml.safe_load(path.read_text()) | {"results_dir": str(tmp_path / "results")}  # plans every job
    path.write_text(yaml.safe_dump(fresh))
    result = run(["-n", "--configfile", str(path)])
    planned = dry_run_job_counts(result.stdout + result.stderr)
    # the counts do not depend on the design space's size (it sizes the work of each job)
    table = cost_table(config_module.load(path), DesignSpaceSize(1, 1, 1))
    costed = table.groupby(table["stage"].str.split(" (", regex=False).str[0])["jobs"].sum()
    assert {rule: int(costed[rule]) for rule in COSTED_RULES} == {rule: planned[rule] for rule in COSTED_RULES}
