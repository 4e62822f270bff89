"""The workflow never reports "Nothing to be done" over a missing output (tiny config, dry runs)."""

import pytest

from ..helpers import copy_workflow, run

pytestmark = pytest.mark.workflow

CONFIG = ["--configfile", "tests/config/config.yaml"]


@pytest.fixture(scope="module")
def finished_workflow(tmp_path_factory):
    """A copy of the workflow in which every output of the tiny DAG exists and is up to date."""
    work = copy_workflow(tmp_path_factory.mktemp("state"))
    summary = run(["--summary", *CONFIG], cwd=work).stdout.splitlines()[1:]
    for line in summary:
        path, _, rule = line.split("\t")[:3]
        target = work / path
        if rule in ("sft", "final_dpo_policy", "dpo_round", "grpo") and not path.endswith((".parquet", ".png")):
            target.mkdir(parents=True, exist_ok=True)
            (target / "config.json").write_text("{}")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
    run(["--touch", "--cores", "1", *CONFIG], cwd=work)  # mtimes in DAG order, as after a real run
    assert "Nothing to be done" in run(["-n", *CONFIG], cwd=work).stdout
    return work


@pytest.mark.parametrize(
    "lost",
    [
        "results/models/tiny/sft",
        "results/models/tiny/dpo",
        "results/models/tiny/dpo_r1",
        "results/samples/tiny/sft.parquet",
        "results/pairs/tiny/r1.parquet",
    ],
)
def test_a_lost_intermediate_output_is_rebuilt(finished_workflow, lost):
    """After a failed or killed ``-R results/models/tiny/sft`` the model folder is gone; a plain
    rerun used to say "Nothing to be done" because everything made from it was up to date."""
    import shutil

    target = finished_workflow / lost
    backup = finished_workflow / "backup"
    shutil.move(target, backup)
    try:
        text = run(["-n", *CONFIG], cwd=finished_workflow).stdout
        assert "Nothing to be done" not in text
        rule = {
            "models/tiny/sft": "sft",
            "models/tiny/dpo_r": "dpo_round",
            "models/tiny/dpo": "final_dpo_policy",
            "samples": "sample",
            "pairs": "pairs",
        }
        name = next(r for key, r in rule.items() if key in lost)
        assert f"rule {name}:" in text or f"localrule {name}:" in text
    finally:
        shutil.move(backup, target)
