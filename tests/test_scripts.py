"""Workflow scripts read their job's params, never the config, and each can run outside Snakemake."""

import re

from .conftest import REPO

SCRIPTS = REPO / "workflow_scripts"


def rule_scripts() -> dict[str, str]:
    """rule name -> script file name, from rules/*.smk."""
    found = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t].*\n|\n)*)", smk.read_text(), flags=re.M):
            script = re.search(r'script:\s*\n\s*"\.\./workflow_scripts/(\w+\.py)"', body)
            if script:
                found[rule] = script.group(1)
    return found


def test_no_script_reads_the_config():
    for path in SCRIPTS.glob("*.py"):
        text = path.read_text()
        assert "snakemake.config" not in text and "validated_config" not in text, path.name


def test_run_job_finds_the_script_of_every_rule():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_job", SCRIPTS / "run_job.py")
    run_job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_job)
    rules = rule_scripts()
    assert len(rules) >= 20
    for rule, script in rules.items():
        assert run_job.script_of(rule).name == script, rule
        assert (SCRIPTS / script).is_file()
