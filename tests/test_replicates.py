"""Replicates: models expanded per seed, per-seed metrics pooled into a mean with a t-interval, and
config/replicates.yaml planning each seed's branch and the gathering rule."""

import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from alloypref.replicates import (
    ReplicatesError,
    expand_models,
    long_table1,
    pool,
    replicate_models,
    split_source,
    t_interval,
)

from .helpers import REPO, copy_workflow

CONFIG = {
    "seed": 42,
    "replicates": {"seeds": [1, 2]},
    "models": {"tiny": {"source": "tiny", "sampling": {"n": 256}}, "other": {"source": "tiny"}},
    "grpo": {"models": ["tiny"]},
    "baselines": {"api": {"llm": {"exemplars_from": "tiny-sft"}}},
}


def test_each_model_becomes_one_model_per_seed():
    expanded = expand_models(CONFIG)
    assert list(expanded["models"]) == ["tiny_s1", "tiny_s2", "other_s1", "other_s2"]
    assert expanded["models"]["tiny_s2"] == {"source": "tiny", "sampling": {"n": 256}, "seed": 2}
    assert expanded["grpo"]["models"] == ["tiny_s1", "tiny_s2"]
    assert expanded["baselines"]["api"]["llm"]["exemplars_from"] == "tiny_s1-sft"
    assert CONFIG["models"]["tiny"] == {"source": "tiny", "sampling": {"n": 256}}  # the input is untouched
    assert replicate_models(expanded) == {
        "tiny_s1": ("tiny", 1),
        "tiny_s2": ("tiny", 2),
        "other_s1": ("other", 1),
        "other_s2": ("other", 2),
    }


def test_without_seeds_the_config_is_unchanged():
    config = {**CONFIG, "replicates": {"seeds": []}}
    assert expand_models(config) == config and replicate_models(config) == {}


def test_a_model_with_its_own_seed_is_refused_by_name():
    config = {**CONFIG, "models": {"tiny": {"source": "tiny", "seed": 7}}}
    with pytest.raises(ReplicatesError, match=r"models\.tiny\.seed"):
        expand_models(config)


def test_a_replicate_name_already_taken_is_refused():
    config = {**CONFIG, "models": {"tiny": {"source": "tiny"}, "tiny_s1": {"source": "tiny"}}}
    with pytest.raises(ReplicatesError, match=r"models\.tiny_s1"):
        expand_models(config)


def test_split_source_uses_the_replicate_map_not_the_name_shape():
    replicates = {"tiny_s3": ("tiny", 3)}
    assert split_source("tiny_s3-dpo_r2", replicates) == ("tiny-dpo_r2", 3)
    assert split_source("random", replicates) == ("random", None)
    assert split_source("foo_s2-sft", replicates) == ("foo_s2-sft", None)  # no replicate of this run


def test_t_interval_on_a_hand_computed_example():
    mean, sd, low, high = t_interval([1.0, 2.0, 3.0])
    # sd 1, t(0.975, 2) = 4.3027: half-width 4.3027 / sqrt(3) = 2.4841
    assert (mean, sd) == (2.0, 1.0)
    assert (low, high) == pytest.approx((2.0 - 2.48414, 2.0 + 2.48414), abs=1e-4)
    assert low < mean < high
    one = t_interval([5.0, np.nan])
    assert one[0] == 5.0 and all(np.isnan(one[1:]))


def test_pool_gathers_each_methods_seeds():
    replicates = {"tiny_s1": ("tiny", 1), "tiny_s2": ("tiny", 2), "tiny_s3": ("tiny", 3)}
    table1 = pd.DataFrame(
        {"source": ["tiny_s2-sft", "tiny_s1-sft", "tiny_s3-sft", "random"], "all_rules": [0.2, 0.1, 0.3, 0.05]}
    )
    pooled = pool(long_table1(table1), replicates).set_index("source")
    sft = pooled.loc["tiny-sft"]
    assert (sft["table"], sft["metric"], sft["seeds"]) == ("table1", "all_rules", 3)
    assert sft["mean"] == pytest.approx(0.2) and sft["sd"] == pytest.approx(0.1)
    assert sft["low"] < 0.2 < sft["high"]
    assert sft["values"] == "1: 0.1, 2: 0.2, 3: 0.3"
    random = pooled.loc["random"]
    assert random["seeds"] == 1 and random["mean"] == 0.05 and np.isnan(random["low"])


def test_replicates_config_keeps_the_defaults_methods_at_256_samples():
    default = yaml.safe_load((REPO / "config/config.yaml").read_text())
    replicates = yaml.safe_load((REPO / "config/replicates.yaml").read_text())
    assert len(replicates["replicates"]["seeds"]) >= 3
    assert replicates["models"]["tiny"]["sampling"]["n"] >= 256
    changed = {key for key in default.keys() | replicates.keys() if default.get(key) != replicates.get(key)}
    assert changed == {"results_dir", "replicates", "models"}
    tiny = replicates["models"]["tiny"]
    assert {**tiny, "sampling": {**tiny["sampling"], "n": 128}} == default["models"]["tiny"]  # only its n differs


@pytest.mark.workflow
def test_replicates_dry_run_plans_each_seeds_branch_and_the_pooling_rule(tmp_path):
    work = copy_workflow(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "config/replicates.yaml"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout + result.stderr
    jobs = Counter(re.findall(r"^rule (\w+):", text, flags=re.M))
    # each seed: its SFT, GRPO, two DPO rounds, KL and comparison; one pooling job over all of them
    assert (jobs["sft"], jobs["grpo"], jobs["dpo_round"], jobs["kl"], jobs["compare"]) == (3, 3, 6, 3, 3)
    assert jobs["replicates"] == 1 and jobs["metrics"] == 1 and jobs["headline"] == 1
    for seed in (1, 2, 3):
        assert f"results/replicates/models/tiny_s{seed}/sft" in text
        assert f"results/replicates/scores/tiny_s{seed}-dpo/rewards.parquet" in text
    assert "results/replicates/metrics/replicates.md" in text
