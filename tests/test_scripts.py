"""Workflow scripts read their job's params, never the config, and each can run outside Snakemake."""

import re

import pytest

from .helpers import REPO

SCRIPTS = REPO / "workflow_scripts"


def rule_bodies() -> dict[str, str]:
    """rule name -> the rule's text, from rules/*.smk."""
    found = {}
    for smk in (REPO / "rules").glob("*.smk"):
        # a rule's body: the lines indented deeper than its `rule` line (rules in an `if` are indented)
        for _, rule, body in re.findall(r"^( *)rule (\w+):\n((?:\1[ \t]+.*\n|\n)*)", smk.read_text(), flags=re.M):
            found[rule] = body
    return found


def test_no_script_reads_the_config():
    for path in SCRIPTS.glob("*.py"):
        text = path.read_text()
        assert "snakemake.config" not in text and "validated_config" not in text, path.name


def test_each_rule_hashes_the_code_of_the_script_it_runs():
    """``params: code=code_version("x.py")`` must name the rule's own ``script:``, or a change to the
    code its script imports would not rerun it."""
    checked = 0
    for rule, body in rule_bodies().items():
        script = re.search(r'script:\s*\n\s*"\.\./workflow_scripts/(\w+\.py)"', body)
        if script is None:
            continue
        assert re.findall(r'code=code_version\("(\w+\.py)"\)', body) == [script.group(1)], rule
        assert (SCRIPTS / script.group(1)).is_file(), rule
        checked += 1
    assert checked >= 30


def load_script_module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_job_record_names_the_running_script(tmp_path, monkeypatch):
    """run_job reruns the script the record names; the record takes it from the running ``__main__``."""
    import runpy

    monkeypatch.syspath_prepend(str(SCRIPTS))
    script = tmp_path / "some_rule_script.py"
    script.write_text("from _common import running_script\nRUNNING = running_script()\n")
    assert runpy.run_path(str(script), run_name="__main__")["RUNNING"] == "some_rule_script.py"


def test_run_job_runs_the_recorded_script_or_names_the_problem(tmp_path):
    run_job = load_script_module("run_job")
    record_path = tmp_path / "x.job.json"
    assert run_job.script_of({"rule": "score", "script": "score_shard.py"}, record_path) == SCRIPTS / "score_shard.py"
    with pytest.raises(SystemExit, match="x.job.json: script 'gone.py' of rule 'score'"):
        run_job.script_of({"rule": "score", "script": "gone.py"}, record_path)
    with pytest.raises(SystemExit, match="x.job.json: the job record names no script"):
        run_job.script_of({"rule": "score"}, record_path)
