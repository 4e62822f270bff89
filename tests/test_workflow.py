"""The Snakemake workflow: lint, env files, scatter count, and a tiny real run."""

import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alloypref.scoring.checkpoint import read_checkpoint

from .helpers import REPO, SNAKEMAKE, copy_workflow, paper_config_with_model_folders, run

pytestmark = pytest.mark.workflow


def test_lint_is_clean():
    run(["--lint"])


def test_every_conda_env_a_rule_names_exists_and_parses():
    for smk in (REPO / "rules").glob("*.smk"):
        for line in smk.read_text().splitlines():
            if line.strip().startswith('"../envs/'):
                env = (REPO / "rules" / line.strip().strip('",')).resolve()
                assert env.is_file(), f"{smk.name} names missing {env}"
                assert "dependencies" in yaml.safe_load(env.read_text())


def test_set_scatter_changes_the_shard_files():
    text = run(["-n", "--forceall", "--set-scatter", "score=3"]).stdout
    assert "3-of-3.rewards.parquet" in text and "example/shards/2-of-2" not in text


def test_set_scatter_is_bounded_like_the_config_key_it_replaces():
    result = run(["-n", "--forceall", "--set-scatter", "score=5000"], check=False)
    assert result.returncode != 0
    assert (
        "--set-scatter score=5000: sets config key scoring.shards, an integer from 1 to 1024"
        in result.stdout + result.stderr
    )


def tiny_config(work: Path) -> dict:
    """The tiny CI config plus a second model (`mini`, fewer samples), so that model isolation is visible.

    Written with yaml.safe_dump, which sorts keys: `mini` is the first model, whose sample count the
    random baseline follows (baselines.random_n: null)."""
    config = yaml.safe_load((work / "tests/config/config.yaml").read_text())
    mini = copy.deepcopy(config["models"]["tiny"])
    mini["sampling"] = {**mini["sampling"], "n": 16, "batch_size": 16}  # enough for some pairs
    config["models"]["mini"] = mini
    return config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One completed run of the tiny config (two models), shared by the tests that only read it."""
    work = copy_workflow(tmp_path_factory.mktemp("tiny"))
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny_config(work)))
    run(["--cores", "2", "--configfile", "tiny.yaml"], cwd=work)
    return work


@pytest.mark.xdist_group("tiny_run")
def test_tiny_end_to_end_run_and_resume(tiny_run):
    work = tiny_run
    rewards = pd.read_parquet(work / "results/scores/example/rewards.parquet")
    assert list(rewards.candidate_id) == ["nial_a", "nial_b", "nial_dup", "bad"]
    by_id = rewards.set_index("candidate_id")
    assert by_id.loc["bad", "status"] == "invalid"
    assert (by_id.loc[["nial_a", "nial_b", "nial_dup"], "status"] == "ok").all()
    assert by_id.loc["nial_b", "reward"] == by_id.loc["nial_dup", "reward"]
    # weakest-link trust from the phase inventory and the report card: a reason exactly when untrusted
    ok = rewards[rewards.status == "ok"]
    assert (ok.trusted == (ok.trust_reason == "")).all()
    assert (~by_id.loc[["bad"], "trusted"]).all()
    assert (work / "results/logs/score/example/1-of-2.log").is_file()
    assert (work / "results/benchmarks/score/example/1-of-2.tsv").is_file()
    tables = pd.read_parquet(work / "results/scores/example/phase_tables.parquet")
    assert set(tables.candidate_id) == {"nial_a", "nial_b", "nial_dup"}
    # the design space: 2 pure + 5 binary BCC and 1 B2 enumerated; counts written beside the outputs
    enumeration = json.loads((work / "results/design_space/enumeration_counts.json").read_text())
    assert enumeration["bcc_enumerated"] == 7 and enumeration["b2_enumerated"] == 1
    curated = json.loads((work / "results/design_space/curation_counts.json").read_text())
    assert curated["b2_kept"] == 1  # NiAl is B2 at 1273 K on mc_ni
    sft = pd.read_parquet(work / "results/design_space/sft_triples.parquet")
    assert len(sft) == 3 * curated["bcc_kept"] * curated["b2_kept"]
    assert sft.completion.str.match(r"^<BCC>\w+</BCC><B2>\w+</B2><B2 Volume>\d+\.\d\d</B2 Volume>$").all()
    # the language-model stages: SFT, samples, pairs, DPO, DPO samples, all scored
    assert (work / "results/models/tiny/sft/config.json").is_file()
    assert (work / "results/models/tiny/dpo/config.json").is_file()
    assert (work / "results/models/tiny/sft_curves.png").is_file()
    for model, n in (("tiny", 32), ("mini", 16)):
        for stage in ("sft", "dpo", "dpo_r1", "dpo_r2"):
            samples = pd.read_parquet(work / f"results/samples/{model}/{stage}.parquet")
            assert len(samples) == n
            scored = pd.read_parquet(work / f"results/scores/{model}-{stage}/rewards.parquet")
            assert list(scored.candidate_id) == list(samples.candidate_id)
    # GRPO (tiny only): its samples are scored, and its ledger counts training and final calls
    grpo = pd.read_parquet(work / "results/scores/tiny-grpo/rewards.parquet")
    assert len(grpo) == 32 and not (work / "results/samples/mini/grpo.parquet").exists()
    ledger = pd.read_parquet(work / "results/ledger/tiny-grpo.parquet")
    assert ledger.step.tolist() == ["grpo_train", "final_samples"]
    assert ledger.cumulative_calls.iloc[-1] == ledger.calls.sum()
    assert re.search(r"grpo training: 2/2 steps done", (work / "results/logs/grpo/tiny.log").read_text())
    pairs = pd.read_parquet(work / "results/pairs/tiny/r1.parquet")
    assert (pairs.chosen_reward > pairs.rejected_reward).all()
    # iterative DPO: each round judged by the uniqueness floor; the final source is the last accepted
    # round's samples (the SFT samples when none was accepted)
    decisions = [json.loads((work / f"results/rounds/tiny/r{r}.json").read_text()) for r in (1, 2)]
    for decision in decisions:
        assert decision["accepted"] == (decision["unique_at_100"] >= decision["min_unique"])
    final = pd.read_parquet(work / "results/samples/tiny/dpo.parquet")
    policy = decisions[-1]["policy"]
    assert list(final.candidate_id) == list(
        pd.read_parquet(work / f"results/samples/tiny/{policy}.parquet").candidate_id
    )
    # ledgers: the DPO pipeline's calls are the SFT samples' and every round's; the budget-matched
    # baselines spend as many (their pools are large enough here)
    ledger = pd.read_parquet(work / "results/ledger/tiny-dpo.parquet")
    assert list(ledger.step) == ["sft_samples", "round1", "round2"]
    sft_ledger = pd.read_parquet(work / "results/ledger/tiny-sft.parquet")
    assert ledger.calls.iloc[0] == sft_ledger.calls.sum()
    for kind in ("bestofn", "random"):
        baseline = pd.read_parquet(work / f"results/ledger/tiny-{kind}.parquet")
        assert baseline.calls.sum() == ledger.calls.sum()
    headline = pd.read_parquet(work / "results/metrics/headline.parquet")
    rate = headline[(headline.source == "tiny-dpo") & (headline.metric == "hits_per_1000_calls")].iloc[0]
    assert rate.value == pytest.approx(1000 * ledger.hits.sum() / ledger.calls.sum())
    rounds = pd.read_parquet(work / "results/metrics/rounds.parquet")
    assert set(rounds[rounds.model == "tiny"]["round"]) == {0, 1, 2}
    # long jobs log their progress as k/N lines with an ETA
    score_log = (work / "results/logs/score/tiny-sft/1-of-2.log").read_text()
    assert re.search(r"scoring 1-of-2.triples.parquet: \d+/\d+ candidates done", score_log), score_log
    sft_log = (work / "results/logs/sft/tiny.log").read_text()
    assert re.search(r"sft training: \d+/\d+ steps done .*ETA", sft_log), sft_log
    assert re.search(r"sampling tiny-sft: 32/32 samples done", (work / "results/logs/sample/tiny-sft.log").read_text())
    # evaluation: Table 1, comparisons, summary, and the HTML report with captions
    table = pd.read_parquet(work / "results/metrics/table1.parquet")
    assert list(table.source) == [
        *("mini-sft", "mini-dpo", "tiny-sft", "tiny-dpo", "tiny-grpo"),
        *("mini-bestofn", "mini-random", "tiny-bestofn", "tiny-random", "random"),
    ]
    assert table.parse_rate.between(0, 1).all() and "validity" not in table.columns
    assert "## Table 1" in (work / "results/summary.md").read_text()
    # one database: nothing to compare, but every evaluated source has its (empty) cross-database table
    assert "## Cross-database agreement" in (work / "results/summary.md").read_text()
    assert pd.read_parquet(work / "results/databases/cross_database/random.parquet").empty
    summary = (work / "results/summary.md").read_text()
    # the summary opens with the verdict, then the headline table by its reader's names, then Table 1
    assert summary.index("## Verdict") < summary.index("## Headline") < summary.index("## Table 1")
    assert "Hits / 1,000 calls" in summary and "hits_per_1000_calls" not in summary
    verdict = pd.read_parquet(work / "results/metrics/verdict.parquet")
    assert {"tiny-dpo", "tiny-grpo", "mini-dpo"} <= set(verdict.method)
    assert set(verdict.outcome) <= {"beats", "trails", "not distinguishable", "not tested"}
    assert json.loads((work / "results/manifest.json").read_text())["config"]["seed"] == 42
    run(["--report", "results/report.html", "--configfile", "tiny.yaml"], cwd=work)
    html = (work / "results/report.html").read_text()
    assert "coverage_curves.png" in html and "Table 1 of the paper" in html
    assert "verdict.html" in html and "1 Verdict" in html
    assert "cross_database.html" in html
    assert "AlloyPref run report" in html  # the workflow description
    assert "sft_curves.png" in html and "dpo_curves.png" in html and "grpo_curves.png" in html
    # nothing to do on a second run
    again = run(["--cores", "2", "--configfile", "tiny.yaml", "-n"], cwd=work)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.xdist_group("tiny_run")
def test_a_failing_job_logs_its_traceback_and_a_job_reruns_outside_snakemake(tiny_run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(tiny_run, work, symlinks=True)
    summary = (work / "results/summary.md").read_text()
    # by hand, from the record the job left beside its log: the same summary
    (work / "results/summary.md").unlink()
    subprocess.run(
        [sys.executable, "workflow_scripts/run_job.py", "results/logs/summary.job.json"], cwd=work, check=True
    )
    assert (work / "results/summary.md").read_text() == summary
    # a job that raises: its log holds the traceback, not just its first lines
    (work / "results/manifest.json").write_text("{not json")
    failed = run(["--cores", "1", "--configfile", "tiny.yaml", "-f", "results/summary.md"], cwd=work, check=False)
    assert failed.returncode != 0
    log = (work / "results/logs/summary.log").read_text()
    assert "Traceback (most recent call last)" in log and "JSONDecodeError" in log


def assert_nothing_to_do(work: Path) -> None:
    result = run(["--cores", "2", "--configfile", "tiny.yaml", "-n"], cwd=work)
    assert "Nothing to be done" in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]


@pytest.mark.xdist_group("tiny_run")
def test_a_finished_run_moved_copied_or_beside_a_fresh_checkout_plans_no_job(tiny_run, tmp_path):
    """A results folder is portable: no job records a path of this checkout (package data reaches its
    rules as a content hash), so wherever the run and its records (.snakemake/metadata) go, nothing reruns."""
    copied = tmp_path / "copied"
    shutil.copytree(tiny_run, copied, symlinks=True)  # copy2: modification times kept, as cp -a does
    assert_nothing_to_do(copied)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    copied.rename(moved)
    assert_nothing_to_do(moved)
    # a fresh checkout: every file of the code written now (newer than every result), the results
    # and Snakemake's records of them copied in, the results then touched to one later time (docs/running.md)
    clone = tmp_path / "clone"
    shutil.copytree(tiny_run, clone, ignore=shutil.ignore_patterns("results", ".snakemake"), copy_function=shutil.copy)
    shutil.copytree(tiny_run / "results", clone / "results", symlinks=True)
    shutil.copytree(tiny_run / ".snakemake/metadata", clone / ".snakemake/metadata")
    time.sleep(1)  # the touch below has whole seconds: later than every file of the checkout
    touch = """find results -exec touch -h -d "$(date -R)" {} +"""
    assert touch in (REPO / "docs" / "running.md").read_text(encoding="utf-8")
    subprocess.run(["bash", "-c", touch], cwd=clone, check=True)
    assert_nothing_to_do(clone)


@pytest.mark.parametrize("name", ["config", "medium", "paper", "smol", "tests"])
def test_no_job_reads_a_file_of_this_checkout_by_its_absolute_path(tmp_path, name):
    """An input under the workflow folder recorded by its absolute path reruns the job when the folder
    moves (the default config's report card read the package's phase facts that way)."""
    configfile = {
        "config": REPO / "config/config.yaml",
        "medium": REPO / "config/medium.yaml",  # the shipped design space
        "paper": paper_config_with_model_folders(tmp_path),
        "smol": REPO / "config/smol.yaml",  # the base-model stage's folder is an input of every model job
        "tests": REPO / "tests/config/config.yaml",
    }[name]
    text = run(["-n", "--forceall", "--configfile", str(configfile)]).stdout
    absolute = [line.strip() for line in text.splitlines() if line.strip().startswith("input:") and str(REPO) in line]
    assert absolute == []


def test_config_key_value_layers_on_the_default_config():
    """`--config key=value` changes one key of config/config.yaml; the GRPO jobs of the default stay."""
    default = parse_jobs(run(["-n", "--forceall"]).stdout)
    layered = parse_jobs(run(["-n", "--forceall", "--config", "seed=7"]).stdout)
    assert "grpo[tiny]" in default
    assert layered == default
    # a number inside a mapping value is a number (Snakemake alone passes the string '3', which the schema refuses)
    nested = run(["-n", "--forceall", "--config", "grpo={steps: 3}", "calphad={temperatures_K: [373.15, 1273.15]}"])
    assert parse_jobs(nested.stdout) == default


def test_a_configfile_stands_alone(tmp_path):
    """A --configfile is not merged into config/config.yaml: its models are the only ones."""
    config = yaml.safe_load((REPO / "tests/config/config.yaml").read_text())
    config["models"] = {"solo": config["models"]["tiny"]}
    config["grpo"]["models"] = ["solo"]
    (tmp_path / "solo.yaml").write_text(yaml.safe_dump(config))
    jobs = dry_run_jobs(REPO, str(tmp_path / "solo.yaml"), "--forceall")
    assert "sft[solo]" in jobs
    assert [job for job in jobs if "tiny" in job] == []


def parse_jobs(text: str) -> set[str]:
    """Jobs of a dry run's output, as `rule[model|source|model-stage]` (shards folded)."""
    jobs = set()
    for block in dry_run_blocks(text):
        lines = block.strip().splitlines()
        heads = [line for line in lines if re.match(r"^(local)?rule \w+:$", line)]
        if not heads:
            continue
        rule = heads[0].split()[1].rstrip(":")
        wildcards = dict(
            item.split("=", 1)
            for line in lines
            if line.strip().startswith("wildcards:")
            for item in line.split(":", 1)[1].strip().split(", ")
        )
        wildcards.pop("scatteritem", None)
        if "stage" in wildcards:
            key = f"{wildcards['model']}-{wildcards['stage']}"
        else:
            key = wildcards.get("source") or wildcards.get("model") or wildcards.get("name")
        jobs.add(f"{rule}[{key}]" if key else rule)
    return jobs


def dry_run_jobs(work: Path, configfile: str, *extra: str) -> set[str]:
    result = run(["-n", "--configfile", configfile, *extra], cwd=work)
    return parse_jobs(result.stdout + result.stderr)


TAIL = {"metrics", "headline", "verdict", "summary", "manifest", "all"}
SCORED = ("prepare_triples", "split_for_scoring", "score", "gather_scores")
ROUNDS = ("dpo_r1", "dpo_r2")  # iterative_dpo.rounds defaults to 2


def branch(source: str) -> set[str]:
    """The jobs that sample (model sources), score and cross-check one source (Table 1 sources: and draw it)."""
    jobs = {f"{rule}[{source}]" for rule in SCORED}
    if not source.endswith(ROUNDS):
        jobs |= {f"top_candidates[{source}]", f"cross_database[{source}]"}
    if source.endswith(("-sft", "-grpo", *ROUNDS)):
        jobs.add(f"sample[{source}]")
    return jobs


GRPO_MODELS = ("tiny",)  # grpo.models of tests/config/config.yaml


def grpo_jobs(model: str) -> set[str]:
    """GRPO of a model in grpo.models: training, its samples (scored, cross-checked) and its ledger."""
    return {f"grpo[{model}]", f"grpo_ledger[{model}]"} | branch(f"{model}-grpo") if model in GRPO_MODELS else set()


def budget_jobs(model: str) -> set[str]:
    """The budget-matched baselines of a model: cut to the DPO ledger, scored, ledgered."""
    jobs = {f"budget_baseline[{model}]"}
    for kind in ("bestofn", "random"):
        jobs |= branch(f"{model}-{kind}") | {f"ledger[{model}-{kind}]"}
    return jobs


def after_dpo(model: str) -> set[str]:
    """A change to DPO training: every round, the final policy, and what reads the DPO ledger."""
    jobs = {f"{rule}[{model}]" for rule in ("pairs", "dpo_round", "accept_round", "final_dpo_policy", "kl", "compare")}
    for stage in ROUNDS:
        jobs |= branch(f"{model}-{stage}")
    return jobs | branch(f"{model}-dpo") | {f"ledger[{model}-dpo]"} | budget_jobs(model)


def model_jobs(model: str) -> set[str]:
    """Every job of one model: SFT, its samples and pools, the rounds, KL and the comparison."""
    return (
        {f"sft[{model}]", f"sample[{model}-bestofn_pool]", f"ledger[{model}-sft]"}
        | branch(f"{model}-sft")
        | after_dpo(model)
        | grpo_jobs(model)
    )


def after_scoring() -> set[str]:
    """A change to the scorer: every source rescored; every round and everything after DPO follow."""
    jobs = {f"{rule}[{source}]" for rule in ("score", "gather_scores") for source in ("example", "random")}
    jobs |= {"top_candidates[random]", "ledger[random]", "cross_database[random]"}
    for model in ("tiny", "mini"):
        jobs |= {
            f"{rule}[{model}-sft]" for rule in ("score", "gather_scores", "top_candidates", "ledger", "cross_database")
        }
        jobs |= after_dpo(model) | grpo_jobs(model)  # GRPO trains on the reward
    return jobs


def with_cross_summary(jobs: set[str]) -> set[str]:
    """The jobs that read every source follow: a rerun cross-database check of any source reruns their
    summary table, a rescored source the explorer page (and rule all, which asks for it), and a
    rescored model source or GRPO's training scores the methods at matched calls."""
    jobs = jobs | ({"cross_database_summary"} if any(job.startswith("cross_database[") for job in jobs) else set())
    model_scores = any(
        (job.startswith("gather_scores[") and job not in ("gather_scores[example]", "gather_scores[random]"))
        or job.startswith("grpo[")
        for job in jobs
    )
    jobs = jobs | ({"matched_calls"} if model_scores else set())
    return jobs | ({"explorer", "all"} if any(job.startswith("gather_scores[") for job in jobs) else set())


EVALUATED = [
    *("mini-sft", "mini-dpo", "tiny-sft", "tiny-dpo", "tiny-grpo"),
    *("mini-bestofn", "mini-random", "tiny-bestofn", "tiny-random", "random"),
]


# key path in the config -> new value -> the jobs a dry run must schedule (stage + downstream only)
CONFIG_EDITS = {
    "design_space.filter.threshold": (
        0.98,
        {"filter_candidates", "curate", "enumerate_triples"} | model_jobs("tiny") | model_jobs("mini") | TAIL,
    ),
    "design_space.volume.scheme": ("uniform", {"enumerate_triples"} | model_jobs("tiny") | model_jobs("mini") | TAIL),
    "models.tiny.sft.epochs": (30, model_jobs("tiny") | TAIL),
    "models.tiny.sampling.n": (30, model_jobs("tiny") - {"sft[tiny]", "grpo[tiny]"} | {"random_pool[tiny]"} | TAIL),
    "reward.weight_b2_room_temp": (20, after_scoring() | TAIL),
    "calphad.temperatures_K": ([373.15, 1273.15, 1873.15], after_scoring() | TAIL),
    # trust thresholds curate again (the filter keeps trusted candidates only) and rescore, but neither
    # the phase inventory nor the report card runs again
    "calphad.trust.min_competing_fraction": (
        0.2,
        {"filter_candidates", "curate", "enumerate_triples"}
        | model_jobs("tiny")
        | model_jobs("mini")
        | after_scoring()
        | TAIL,
    ),
    "pairs.k": (3, after_dpo("tiny") | after_dpo("mini") | TAIL),
    "iterative_dpo.min_unique": (
        0.95,
        # every decision is taken again; round 1's pairs, policy and samples do not depend on one
        {job for m in ("tiny", "mini") for job in after_dpo(m) - branch(f"{m}-dpo_r1")} | TAIL,
    ),
    "models.tiny.dpo.beta": (0.2, after_dpo("tiny") | TAIL),
    "evaluation.coverage_cutoff": (5.0, TAIL),
    "cross_database.sample_per_source": (
        8,
        {f"cross_database[{source}]" for source in EVALUATED} | {"summary", "manifest", "all"},
    ),
}


@pytest.mark.xdist_group("tiny_run")
@pytest.mark.parametrize("key", list(CONFIG_EDITS))
def test_a_config_edit_reruns_its_stage_and_what_follows_only(tiny_run, key):
    value, expected = CONFIG_EDITS[key]
    config = tiny_config(tiny_run)
    *parents, leaf = key.split(".")
    block = config
    for part in parents:
        block = block.setdefault(part, {})
    block[leaf] = value
    name = f"edit-{key}.yaml"
    (tiny_run / name).write_text(yaml.safe_dump(config))
    assert dry_run_jobs(tiny_run, name) == with_cross_summary(expected)


# package file -> the jobs whose code it is, and what follows (the manifest records the package hash)
CODE_EDITS = {
    "evaluation/summary.py": {"manifest", "summary", "all"},
    "evaluation/kl.py": {"kl[tiny]", "kl[mini]", "manifest", "summary", "all"},
    "baselines/random_search.py": {"random_baseline", "ledger[random]", "random_pool[tiny]", "random_pool[mini]"}
    | branch("random")
    | {job for model in ("tiny", "mini") for job in branch(f"{model}-random") | {f"ledger[{model}-random]"}}
    | {"budget_baseline[tiny]", "budget_baseline[mini]"}
    | TAIL,
    "lm/curves.py": model_jobs("tiny") | model_jobs("mini") | TAIL,
}


@pytest.mark.xdist_group("tiny_run")
@pytest.mark.parametrize("module", [*CODE_EDITS, "io.py"])
def test_a_package_edit_reruns_the_rules_that_import_it(tiny_run, module):
    path = tiny_run / "src/alloypref" / module
    original = path.read_text()
    assert dry_run_jobs(tiny_run, "tiny.yaml") == set()
    try:
        path.write_text(original + "\n# edited\n")
        jobs = dry_run_jobs(tiny_run, "tiny.yaml")
    finally:
        path.write_text(original)
    if module == "io.py":  # every script reads or writes through io.py: the whole DAG
        assert jobs == dry_run_jobs(tiny_run, "tiny.yaml", "--forceall")
    else:
        assert jobs == with_cross_summary(CODE_EDITS[module])


def dry_run_blocks(text: str) -> list[str]:
    """A dry run's job blocks: each starts at a timestamp line or after an empty line."""
    blocks = re.split(r"\n(?:\s*\n|\[[A-Z][a-z]{2} [^\]]*\d{4}\]\n)", text)
    # a timestamp after several empty lines stays at the head of its block
    return [re.sub(r"^\s*\[[A-Z][a-z]{2} [^\]]*\d{4}\]\n", "", b) for b in blocks if b.strip()]


def job_blocks(text: str, rule: str) -> list[str]:
    """The dry-run blocks of one rule's jobs (each starts at its 'rule NAME:' line)."""
    blocks = dry_run_blocks(text)
    heads = (f"rule {rule}:", f"localrule {rule}:")
    return [b for b in blocks if any(line.startswith(heads) for line in b.splitlines()[:2])]


def job_resources(block: str) -> dict[str, str]:
    """The ``resources:`` line of a dry-run job block as a mapping."""
    line = next(line for line in block.splitlines() if line.strip().startswith("resources:"))
    return dict(item.split("=", 1) for item in line.split(":", 1)[1].replace(" ", "").split(","))


def check_score_resources(text: str, config_file: Path) -> None:
    """Scoring jobs ask for their workers' measured memory and CPU time, within the stated margins."""
    from alloypref.config import load

    config = load(config_file)
    scoring, workers = config["scoring"], config["scoring"]["workers"]
    iterative, sizes = config["iterative_dpo"], {}
    for m, entry in config["models"].items():
        n = entry["sampling"].get("n", 128)
        per_round = iterative["samples_per_round"] or n
        sizes |= {f"{m}-sft": n, f"{m}-dpo": per_round}
        sizes |= {f"{m}-dpo_r{r}": per_round for r in range(1, iterative["rounds"] + 1)}
        if m in config["grpo"]["models"]:  # as many samples as its SFT stage
            sizes[f"{m}-grpo"] = n
        if iterative["budget_baselines"]:  # as many calls as the DPO pipeline can spend
            sizes |= {f"{m}-{kind}": n + iterative["rounds"] * per_round for kind in ("bestofn", "random")}
    sizes["random"] = config["baselines"]["random_n"] or next(iter(sizes.values()))
    blocks = job_blocks(text, "score")
    assert blocks
    for block in blocks:
        source = re.search(r"wildcards: source=([^,\s]+)", block).group(1)
        assert source in sizes or source == "example", source
        largest = sizes.get(source, max(sizes.values()))  # example: the largest source's size
        resources = job_resources(block)
        assert int(resources["cpus_per_task"]) == workers, block  # a core per solver worker
        measured_mb = workers * scoring["worker_mem_mb"]
        assert measured_mb <= int(resources["mem_mb"]) <= 1.25 * measured_mb + 1000, block  # README: margins
        cpu_min = -(-largest // scoring["shards"]) * scoring["cpu_s_per_candidate"] / workers / 60
        allowed = 2 * cpu_min + config["calphad"]["timeout_s"] / 60
        assert cpu_min <= int(resources["runtime"]) <= max(10, allowed + 1), block


SLURM_CONFIGS = ["paper", "medium", "config"]
# The rules of a model's jobs: their resources follow the model's device (models.<name>.gpu).
MODEL_RULES = ("sft", "dpo_round", "grpo", "sample", "fresh_samples", "kl")


def check_model_jobs_follow_their_device(text: str, config_file: Path) -> None:
    """A GPU model's jobs ask for one GPU on the GPU partition of config slurm; a CPU model's for its
    threads' cores and no GPU, on the CPU partition (the profile's default, or slurm.cpu_partition in
    a config that mixes devices)."""
    from alloypref.config import load

    config = load(config_file)
    mixed = any(entry["gpu"] for entry in config["models"].values())
    cpu_partition = (config["slurm"]["cpu_partition"] if mixed else None) or "cpu"  # the profile's default
    seen = set()
    for rule in MODEL_RULES:
        for block in job_blocks(text, rule):
            model = re.search(r"wildcards: .*\bmodel=(\w+)", block).group(1)
            entry, resources = config["models"][model], job_resources(block)
            assert "gres" not in resources, block
            if entry["gpu"]:
                assert resources["gpu"] == "1" and resources["slurm_partition"] == config["slurm"]["gpu_partition"]
                assert resources["gpu_model"] == config["slurm"]["gpu_model"], block
            else:
                assert resources["gpu"] == "0" and "gpu_model" not in resources, block
                assert resources["slurm_partition"] == cpu_partition, block
            assert resources["cpus_per_task"] == str(entry["threads"]), block  # the cores its torch threads use
            seen.add((rule, entry["gpu"]))
    devices = {entry["gpu"] for entry in config["models"].values()}
    assert {(rule, gpu) for rule in ("sft", "dpo_round", "sample", "kl") for gpu in devices} <= seen


def mixed_config(tmp_path: Path) -> Path:
    """config/medium.yaml with a second model, on a GPU, and the cluster's names in config slurm."""
    config = yaml.safe_load((REPO / "config/medium.yaml").read_text())
    folder = tmp_path / "models" / "big"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    config["models"]["big"] = {"source": "local", "path": str(folder), "gpu": True, "threads": 2}
    config["slurm"] = {"gpu_partition": "gpu_a", "gpu_model": "h100", "cpu_partition": "cpu"}
    config["results_dir"] = str(tmp_path / "results")
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def slurm_dry_run(config_file: Path, *options: str) -> str:
    result = run(["-n", "--profile", "profiles/slurm", *options, "--configfile", str(config_file)])
    return result.stdout + result.stderr


def planned_resources(text: str) -> list[tuple[str, str, str]]:
    """Each planned job of a dry run as (rule, wildcards, resources), sorted (the order may vary)."""

    def line(block, key):
        return next((row.strip() for row in block.splitlines() if row.strip().startswith(key)), "")

    def resources(block):  # Snakemake lists a job's resources in no fixed order
        return ", ".join(sorted(line(block, "resources:").removeprefix("resources:").strip().split(", ")))

    return sorted(
        (block.splitlines()[0], line(block, "wildcards:"), resources(block))
        for block in dry_run_blocks(text)
        if block.startswith(("rule ", "localrule "))
    )


def test_slurm_dry_run_of_a_config_mixing_devices_routes_each_models_jobs_by_its_device(tmp_path):
    mixed = mixed_config(tmp_path)
    text = slurm_dry_run(mixed, "--workflow-profile", "none")
    check_model_jobs_follow_their_device(text, mixed)
    # without --workflow-profile none the local profile is in effect, and every job asks the same
    implicit = slurm_dry_run(mixed)
    assert "workflow specific profile profiles/default" in implicit
    assert "workflow specific profile" not in text
    assert planned_resources(text) == planned_resources(implicit)


@pytest.mark.parametrize("name", SLURM_CONFIGS)
def test_slurm_dry_run_gives_gpu_jobs_gpus_and_scoring_cpus(tmp_path, name):
    if not (REPO / f"config/{name}.yaml").is_file():
        pytest.skip(f"config/{name}.yaml is not in this checkout")
    paper = paper_config_with_model_folders(tmp_path, name, curated="compute")  # the curation jobs too
    fresh = yaml.safe_load(paper.read_text()) | {"results_dir": str(tmp_path / "results")}  # plans every job
    paper.write_text(yaml.safe_dump(fresh))
    text = slurm_dry_run(paper, "--workflow-profile", "none")
    assert "workflow specific profile" not in text
    check_score_resources(text, paper)
    check_model_jobs_follow_their_device(text, paper)
    # design_space.elements is null in these configs: the report card reads the enumerated elements
    (card,) = job_blocks(text, "database_report_card")
    assert "design_space/enumeration_counts.json" in card and "elements=" not in card
    models = yaml.safe_load(paper.read_text())["models"]
    for rule in (
        "score",
        "filter_candidates",
        "enumerate_candidates",
        "compare",
        "metrics",
        "pairs",
        "top_candidates",
        "final_dpo_policy",
        "headline",
    ):
        blocks = job_blocks(text, rule)
        assert blocks, rule
        for block in blocks:  # CPU jobs ask for no GPU
            assert "gpu=" not in block.replace("gpu=0", "") and "slurm_partition=cpu" in block, block
            assert "mem_mb=" in block and "runtime=" in block and "slurm_account=CHANGE_ME_account" in block
    # small jobs run on the submitting host: named in the Snakefile's localrules, never a heavy rule
    names = set()  # the Snakefile's list, and the design-space rules' in the branch that defines them
    for path in (REPO / "Snakefile", REPO / "rules/design_space.smk"):
        for local in re.finditer(r"^ *localrules:\n((?: +\w+,\n)+)", path.read_text(), flags=re.M):
            names |= set(re.findall(r"\w+", local.group(1)))
    assert {
        "split_for_scoring",
        "gather_scores",
        "prepare_triples",
        "split_for_curation",
        "manifest",
        "summary",
    } <= names
    assert not names & {"score", "filter_candidates", "sft", "dpo_round", "sample", "kl", "metrics", "compare"}
    # replicates runs only with replicates.seeds, base_model only for a model of source gguf
    assert names - {"all", "import_external", "shipped_design_space", "replicates", "base_model"} <= {
        block.split()[1].rstrip(":") for block in dry_run_blocks(text) if block.startswith("rule ")
    }
    assert all(f"model={model}" in text for model in models)
    if "tiny" not in models:
        assert "model=tiny" not in text  # a --configfile replaces, not extends, the default config
    root = yaml.safe_load(paper.read_text())["results_dir"].rstrip("/") + "/"
    # the same iterative-DPO stages for every model: each round trained, accepted and sampled
    from alloypref.config import load

    rounds = load(paper)["iterative_dpo"]["rounds"]  # the schema's default where the file has none
    for model in models:
        for r in range(1, rounds + 1):
            assert f"{root}models/{model}/dpo_r{r}" in text
            assert f"{root}rounds/{model}/r{r}.json" in text
            assert f"{root}samples/{model}/dpo_r{r}.parquet" in text
        for kind in ("bestofn", "random"):
            assert f"{root}ledger/{model}-{kind}.parquet" in text
    outputs = re.findall(r"^\s+output: (\S+?)[,\n]", text, flags=re.M)
    assert outputs and all(path.startswith(root) for path in outputs)  # its own results root


def test_missing_local_model_folder_is_reported_at_dag_build_with_its_key():
    result = run(["-n", "--configfile", "config/paper.yaml"], check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config key models.llama.path: '/models/Llama-3.1-8B-Instruct' is not a folder" in text


def test_local_profile_caps_gpu_jobs(tmp_path):
    result = run(["-n", "--configfile", str(paper_config_with_model_folders(tmp_path))])
    assert "workflow specific profile profiles/default" in result.stdout + result.stderr
    profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert "gpu=1" in profile["resources"]
    assert "Shell command: None" not in result.stdout + result.stderr


# Stand-ins for the SLURM commands the executor plugin calls: sbatch accepts every job (its id on
# stdout), sacct reports every job running, the rest answer what the plugin's checks look for.
FAKE_SLURM = {
    "sbatch": 'cat > /dev/null; echo "$$"',
    "sacct": 'echo "$(date +%s)|RUNNING"',
    "squeue": "exit 0",
    "sinfo": 'echo PARTITION; echo "cpu*"',
    "sacctmgr": "echo CHANGE_ME_account",
    "sshare": "echo CHANGE_ME_account",
    "scontrol": "echo MinJobAge=300",
}


def test_a_cluster_run_submits_gpu_jobs_side_by_side_despite_the_local_gpu_cap(tmp_path):
    """Without --workflow-profile none, profiles/default's gpu=1 is in force; as a `local` resource it
    binds no submission: two GPU jobs are submitted at once (a global cap would hold one back)."""
    import os
    import signal
    import time

    work = tmp_path / "wf"
    (work / "profiles/default").mkdir(parents=True)
    shutil.copy(REPO / "profiles/default/config.yaml", work / "profiles/default/config.yaml")
    rules = [
        f"rule {name}:\n    output: '{name}.txt'\n    resources: gpu=1\n    shell: 'touch {{output}}'\n"
        for name in "ab"
    ]
    (work / "Snakefile").write_text("rule all:\n    input: 'a.txt', 'b.txt'\n" + "".join(rules))
    fake = tmp_path / "bin"
    fake.mkdir()
    for command, body in FAKE_SLURM.items():
        (fake / command).write_text(f"#!/bin/sh\n{body}\n")
        (fake / command).chmod(0o755)
    log = work / "run.log"
    environment = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [*SNAKEMAKE, "--profile", str(REPO / "profiles/slurm")],
            cwd=work,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None and "Execute" not in log.read_text():
            time.sleep(0.5)
        time.sleep(2)  # the submissions of the first selection
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    text = log.read_text()
    assert "workflow specific profile profiles/default" in text, text[-3000:]
    assert "Execute 2 jobs" in text and text.count("has been submitted with SLURM jobid") == 2, text[-3000:]


def test_slurm_profile_uses_resource_keys_not_sbatch_flags():
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    forbidden = ("--qos", "--gres", "--gpus", "--time", "--mem", "--partition", "--account", "-c ")
    entries = {"default-resources": profile["default-resources"], **profile.get("set-resources", {})}
    for rule, resources in entries.items():
        extra = str(resources.get("slurm_extra", ""))
        assert not any(flag in extra for flag in forbidden), rule
        assert not ("gres" in resources and ("gpu" in resources or "gpu_model" in resources)), rule


def test_killed_scoring_resumes_and_leaves_no_half_written_parquet(tmp_path):
    """kill -9 the whole run mid-scoring; the rerun keeps finished shards and scored candidates."""
    import os
    import signal
    import time

    work = copy_workflow(tmp_path)
    rows = ["candidate_id,bcc,b2,b2_volume_percent"]
    volumes = [20 + 0.5 * i for i in range(40)]
    rows += [f"k{i:03d},Nb{50 + (i % 2) * 25}Mo{50 - (i % 2) * 25},NiAl,{v}" for i, v in enumerate(volumes)]
    (work / "tests/config/many.csv").write_text("\n".join(rows) + "\n")
    config = yaml.safe_load((work / "tests/config/config.yaml").read_text())
    config["scoring"] = {"triples": "tests/config/many.csv", "shards": 2, "checkpoint_every": 1}
    config["calphad"]["temperatures_K"] = [373.15, 773.15, 1273.15, 1773.15, 2273.15]
    (work / "kill.yaml").write_text(yaml.safe_dump(config))
    target = "results/scores/example/rewards.parquet"
    args = SNAKEMAKE + [target, "--cores", "1", "--configfile", "kill.yaml"]
    process = subprocess.Popen(
        args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    shards = work / "results/scores/example/shards"
    deadline = time.time() + 300
    killed_with = None
    while time.time() < deadline and process.poll() is None:
        checkpoints = list(shards.glob("*.rewards.parquet.checkpoint")) if shards.exists() else []
        done = list(shards.glob("*-of-2.rewards.parquet")) if shards.exists() else []
        try:
            far_enough = bool(done and checkpoints and len(read_checkpoint(checkpoints[0])[1]) >= 3)
        except ValueError:  # the shard finished (and removed its checkpoint) since the glob
            far_enough = False
        if far_enough:
            killed_with = {c.name: len(read_checkpoint(c)[1]) for c in checkpoints}
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.2)
    process.wait()
    assert killed_with, "scoring finished before it could be killed"
    finished = {p.name: p.stat().st_mtime_ns for p in shards.glob("*-of-2.rewards.parquet")}
    assert len(finished) == 1  # one shard done, the other part-way
    for parquet in (work / "results").rglob("*.parquet"):
        pd.read_parquet(parquet)  # every file under its final name is complete
    run([target, "--unlock", "--configfile", "kill.yaml"], cwd=work)  # what a user does after a kill -9
    run([target, "--cores", "1", "--configfile", "kill.yaml"], cwd=work)
    for name, mtime in finished.items():
        assert (shards / name).stat().st_mtime_ns == mtime, f"finished shard {name} was recomputed"
    logs = "".join(p.read_text() for p in (work / "results/logs/score/example").glob("*.log"))
    assert "resuming:" in logs
    rewards = pd.read_parquet(work / target)
    assert len(rewards) == 40 and rewards.candidate_id.is_unique
    assert list(rewards.candidate_id) == [f"k{i:03d}" for i in range(40)]
