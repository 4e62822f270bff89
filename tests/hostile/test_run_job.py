"""A job record replays only the workflow's own scripts: a record naming an absolute path, a
``..`` path, a folder or a link out of workflow_scripts/ is refused and nothing of it runs."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from ..helpers import REPO

SCRIPTS = REPO / "workflow_scripts"
EMPTY_IO = {"items": [], "names": {}}


def record(script):
    return {
        "rule": "score",
        "script": script,
        **{io: EMPTY_IO for io in ("input", "output", "log", "params", "wildcards")},
        "threads": 1,
    }


def hostile_scripts(tmp_path):
    """Scripts a hostile record names, each of which would leave ``ran`` if it ran."""
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n", encoding="utf-8")
    return {
        "absolute": str(evil),
        "dot-dot": os.path.relpath(evil, SCRIPTS),
        "folder": f"sub/{evil.name}",
        "not python": "README.md",
        "a list": [str(evil)],
    }


@pytest.mark.parametrize("kind", ["absolute", "dot-dot", "folder", "not python", "a list"])
def test_run_job_refuses_a_script_outside_the_workflow(tmp_path, kind):
    script = hostile_scripts(tmp_path)[kind]
    path = tmp_path / "x.job.json"
    path.write_text(json.dumps(record(script)), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "run_job.py"), str(path)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert not (tmp_path / "ran").exists()
    assert f"{path}: script " in result.stderr and "Traceback" not in result.stderr


def test_run_job_refuses_a_link_out_of_the_scripts_folder(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("run_job", SCRIPTS / "run_job.py")
    run_job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_job)
    scripts = tmp_path / "workflow_scripts"
    scripts.mkdir()
    (scripts / "score_shard.py").symlink_to(tmp_path / "evil.py")
    (tmp_path / "evil.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(run_job, "SCRIPTS", scripts.resolve())
    with pytest.raises(SystemExit, match="script 'score_shard.py' of rule 'score' is not in"):
        run_job.script_of(record("score_shard.py"), tmp_path / "x.job.json")


def test_a_job_record_that_is_not_json_is_a_named_error(tmp_path):
    path = tmp_path / "x.job.json"
    path.write_bytes(b"\xff\xfe not json")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "run_job.py"), str(path)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and f"{path}: not a readable job record" in result.stderr
