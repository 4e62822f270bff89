"""Shared helpers of the thin workflow scripts: logging to the rule's log file (tracebacks included),
the job record that lets a script run again outside Snakemake, and settings built from ``params``.

Scripts read only ``snakemake.input``, ``output``, ``params``, ``wildcards``, ``threads`` and ``log``:
every config value a job uses is in its rule's ``params:``, so Snakemake reruns it when that value
changes. Run a job again by hand (for a debugger, say) from the record its first run left beside
its log::

    python workflow_scripts/run_job.py results/logs/score/example/1-of-2.job.json
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

# a job whose log has been silent this long logs "still running" (long model loads, slow CALPHAD systems)
HEARTBEAT_S = 30.0


def job_record_path(log_path: str | Path) -> Path:
    """``results/logs/x/y.log`` -> ``results/logs/x/y.job.json``."""
    return Path(log_path).with_suffix(".job.json")


def _io_record(io) -> dict[str, Any]:
    names = {name: list(span) for name, span in getattr(io, "_names", {}).items()}
    return {"items": [str(item) if isinstance(item, str) else item for item in io], "names": names}


def running_script() -> str:
    """The file name of the workflow script that is running: Snakemake runs a copy of the rule's
    ``script:`` with ``__file__`` set to the original's path, and :mod:`run_job` runs the file itself."""
    return Path(sys.modules["__main__"].__file__).name


def job_record(snakemake) -> dict[str, Any]:
    """What a script reads from the ``snakemake`` object, as JSON-able data, and the script's file name
    (the rules' ``script:`` directives are the one map of rules to scripts)."""
    return {
        "rule": snakemake.rule,
        "script": running_script(),
        "input": _io_record(snakemake.input),
        "output": _io_record(snakemake.output),
        "log": _io_record(snakemake.log),
        "params": _io_record(snakemake.params),
        "wildcards": _io_record(snakemake.wildcards),
        "threads": snakemake.threads,
        "scriptdir": str(snakemake.scriptdir),
    }


def setup_logging(snakemake) -> logging.Logger:
    """Send the package's log records (and warnings) to the rule's ``log:`` file and stderr, log any
    uncaught exception with its traceback there too, and record the job for :mod:`run_job`."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(str(snakemake.log[0]), mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", module="pycalphad")
    logger = logging.getLogger(f"alloypref.rule.{snakemake.rule}")

    def log_uncaught(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            return
        logger.error("uncaught exception, the job failed", exc_info=(kind, value, traceback))

    sys.excepthook = log_uncaught
    from alloypref.progress import Heartbeat

    Heartbeat(logger, HEARTBEAT_S)
    if snakemake.log:
        record = job_record_path(snakemake.log[0])
        record.write_text(json.dumps(job_record(snakemake), indent=1, default=str), encoding="utf-8")
        logger.info(
            "job %s; rerun it by hand: python %s %s",
            snakemake.rule,
            Path(snakemake.scriptdir).resolve() / "run_job.py",
            record,
        )
    return logger
