"""The Snakemake workflow: lint, env files, scatter count, and a tiny real run."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from .conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run(args, cwd=REPO, check=True):
    result = subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


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


def copy_workflow(tmp_path: Path) -> Path:
    work = tmp_path / "wf"
    for name in ("Snakefile", "rules", "envs", "report", "workflow_scripts", "config", "tests/config", "tests/data", "profiles"):
        source = REPO / name
        target = work / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    shutil.copytree(REPO / "src", work / "src")
    return work


def test_tiny_end_to_end_run_and_resume(tmp_path):
    work = copy_workflow(tmp_path)
    run(["--cores", "2", "--configfile", "tests/config/config.yaml"], cwd=work)
    rewards = pd.read_parquet(work / "results/scores/example/rewards.parquet")
    assert list(rewards.candidate_id) == ["nial_a", "nial_b", "nial_dup", "bad"]
    by_id = rewards.set_index("candidate_id")
    assert by_id.loc["bad", "status"] == "invalid"
    assert (by_id.loc[["nial_a", "nial_b", "nial_dup"], "status"] == "ok").all()
    assert by_id.loc["nial_b", "reward"] == by_id.loc["nial_dup", "reward"]
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
    for stage in ("sft", "dpo"):
        samples = pd.read_parquet(work / f"results/samples/tiny/{stage}.parquet")
        assert len(samples) == 32
        scored = pd.read_parquet(work / f"results/scores/tiny-{stage}/rewards.parquet")
        assert list(scored.candidate_id) == list(samples.candidate_id)
    pairs = pd.read_parquet(work / "results/pairs/tiny.parquet")
    assert (pairs.chosen_reward > pairs.rejected_reward).all()
    # evaluation: Table 1, comparisons, summary, and the HTML report with captions
    table = pd.read_parquet(work / "results/metrics/table1.parquet")
    assert list(table.source) == ["tiny-sft", "tiny-dpo", "random"]
    assert table.parse_rate.between(0, 1).all() and table.validity.between(0, 1).all()
    assert "## Table 1" in (work / "results/summary.md").read_text()
    assert json.loads((work / "results/manifest.json").read_text())["config"]["seed"] == 42
    run(["--report", "results/report.html", "--configfile", "tests/config/config.yaml"], cwd=work)
    html = (work / "results/report.html").read_text()
    assert "coverage_curves.png" in html and "Table 1 of the paper" in html
    # nothing to do on a second run
    again = run(["--cores", "2", "--configfile", "tests/config/config.yaml", "-n"], cwd=work)
    assert "Nothing to be done" in again.stdout + again.stderr


def job_blocks(text: str, rule: str) -> list[str]:
    """The dry-run blocks of one rule's jobs (each starts at its 'rule NAME:' line)."""
    blocks = text.split("\n\n")
    heads = (f"rule {rule}:", f"localrule {rule}:")
    return [b for b in blocks if any(line.startswith(heads) for line in b.splitlines()[:2])]


def test_slurm_dry_run_gives_gpu_jobs_gpus_and_scoring_cpus():
    result = run(["-n", "--profile", "profiles/slurm", "--workflow-profile", "none", "--configfile", "config/paper.yaml"])
    text = result.stdout + result.stderr
    assert "workflow specific profile" not in text  # the local gpu=1 cap is not inherited
    for rule in ("sft", "dpo", "sample"):
        blocks = job_blocks(text, rule)
        assert blocks, rule
        for block in blocks:
            assert "gpu=1" in block and "gpu_model=a100" in block and "gres" not in block, block
            assert "slurm_partition=gpu" in block
    for block in job_blocks(text, "score") + job_blocks(text, "filter_candidates"):
        assert "gpu=" not in block.replace("gpu=0", "") and "slurm_partition=cpu" in block
        assert "mem_mb=" in block and "runtime=" in block
    assert {"model=llama", "model=gemma", "model=olmo"} <= {w for w in ("model=llama", "model=gemma", "model=olmo") if w in text}
    assert "model=tiny" not in text  # paper.yaml replaces, not extends, the default config


def test_local_profile_caps_gpu_jobs():
    result = run(["-n", "--configfile", "config/paper.yaml"])
    assert "workflow specific profile profiles/default" in result.stdout + result.stderr
    import yaml as _yaml

    profile = _yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert "gpu=1" in profile["resources"]


def test_slurm_profile_uses_resource_keys_not_sbatch_flags():
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    forbidden = ("--qos", "--gres", "--gpus", "--time", "--mem", "--partition", "--account", "-c ")
    for rule, resources in profile["set-resources"].items():
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
    process = subprocess.Popen(args, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    shards = work / "results/scores/example/shards"
    deadline = time.time() + 300
    killed_with = None
    while time.time() < deadline and process.poll() is None:
        checkpoints = list(shards.glob("*.rewards.parquet.checkpoint/rewards.parquet")) if shards.exists() else []
        done = list(shards.glob("*-of-2.rewards.parquet")) if shards.exists() else []
        try:
            far_enough = bool(done and checkpoints and len(pd.read_parquet(checkpoints[0])) >= 3)
        except FileNotFoundError:  # the shard finished (and removed its checkpoint) since the glob
            far_enough = False
        if far_enough:
            killed_with = {c.parent.name: len(pd.read_parquet(c)) for c in checkpoints}
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
