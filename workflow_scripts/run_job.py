"""Run one workflow job again outside Snakemake, from the record its Snakemake run left beside its log.

    python workflow_scripts/run_job.py results/logs/score/example/1-of-2.job.json
    python -m pdb workflow_scripts/run_job.py results/logs/score/example/1-of-2.job.json

The record (written by ``_common.setup_logging``) holds the job's rule, the file name of the script
it ran, inputs, outputs, log, params, wildcards and threads; that script runs with a ``snakemake``
object built from it, from the
directory the workflow ran in (the paths in the record are relative to it). Outputs are overwritten;
Snakemake's records of them are not touched.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


class JobIO(list):
    """A list with named entries, like Snakemake's ``Namedlist`` (``io[0]`` and ``io.name``)."""

    def __init__(self, record: dict):
        super().__init__(record["items"])
        for name, (start, end) in record["names"].items():
            setattr(self, name, self[start] if end is None else self[start:end])


class Job:
    """The ``snakemake`` object of a recorded job."""

    def __init__(self, record: dict):
        self.rule = record["rule"]
        self.input = JobIO(record["input"])
        self.output = JobIO(record["output"])
        self.log = JobIO(record["log"])
        self.params = JobIO(record["params"])
        self.wildcards = JobIO(record["wildcards"])
        self.threads = record["threads"]
        self.scriptdir = str(SCRIPTS)
        self.config = {}  # scripts read params, never the config


def script_of(record: dict, path: Path) -> Path:
    """The workflow script a job record names (its rule's ``script:``): a ``.py`` file name of this
    folder and nothing else, so a record from anywhere runs only the workflow's own code.

    Raises:
        SystemExit: naming the record and the script when the record names no script, a path (absolute,
            with a folder or ``..``), a file that is not Python, or one that is not (or resolves outside) this folder.
    """
    if "script" not in record:
        raise SystemExit(
            f"{path}: the job record names no script (written by an older version); run the job with Snakemake"
        )
    name = record["script"]
    rule = record.get("rule")
    if not isinstance(name, str) or Path(name).name != name or "\\" in name or name in ("", ".", ".."):
        raise SystemExit(
            f"{path}: script {name!r} of rule {rule!r} is not a file name of {SCRIPTS}; refusing to run it"
        )
    if not name.endswith(".py"):
        raise SystemExit(f"{path}: script {name!r} of rule {rule!r} is not a Python script; refusing to run it")
    script = SCRIPTS / name
    if not script.is_file() or script.resolve().parent != SCRIPTS:
        raise SystemExit(f"{path}: script {name!r} of rule {rule!r} is not in {SCRIPTS}")
    return script


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", type=Path, help="a <log>.job.json file under results/logs/")
    args = parser.parse_args(argv)
    try:
        record = json.loads(args.record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{args.record}: not a readable job record ({exc})") from None
    if not isinstance(record, dict):
        raise SystemExit(f"{args.record}: not a job record (a JSON object)")
    sys.path.insert(0, str(SCRIPTS))
    runpy.run_path(str(script_of(record, args.record)), init_globals={"snakemake": Job(record)}, run_name="__main__")


if __name__ == "__main__":
    main()
