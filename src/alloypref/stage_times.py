"""Per-stage times and memory of a run, from the Snakemake ``benchmark:`` files every rule writes.

Each rule writes ``<results_dir>/benchmarks/<rule>.tsv`` (a rule with one job) or
``<results_dir>/benchmarks/<rule>/<wildcards>.tsv`` (one file per job). A Snakemake benchmark TSV has
one row per repeat with, among others, ``s`` (wall seconds), ``max_rss`` (MB, summed over the job's
process tree) and ``cpu_time`` (CPU seconds, user + system, of the job's process tree). These are the
figures README's stage tables and the cluster resources are sized from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

#: Columns of :func:`stage_times` (units in the names: seconds, megabytes).
STAGE_COLUMNS = ("rule", "jobs", "wall_s", "cpu_s", "max_job_cpu_s", "max_rss_mb")


class BenchmarkError(ValueError):
    """A benchmark file that is not a Snakemake benchmark TSV (the message names the file)."""


def read_benchmark_files(paths: Iterable[Path], root: Path | None = None) -> pd.DataFrame:
    """One row per benchmark file: ``rule`` (its folder under ``root``, or its stem for a rule with
    one job), ``job`` (the file stem), ``wall_s``, ``cpu_s``, ``max_rss_mb``. A file with several
    repeats counts their mean, as Snakemake's ``benchmark:`` repeats are meant to be read."""
    rows = []
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():  # a FIFO would block the read forever, /dev/zero never end it
            raise BenchmarkError(f"{path}: not a regular file (a pipe, device or folder); a benchmark is a TSV file")
        try:
            table = pd.read_csv(path, sep="\t", encoding="utf-8")
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise BenchmarkError(f"{path}: not a readable benchmark TSV ({exc})") from exc
        missing = {"s", "max_rss", "cpu_time"} - set(table.columns)
        if missing or table.empty:
            raise BenchmarkError(f"{path}: not a Snakemake benchmark TSV (missing {sorted(missing) or 'rows'})")
        numbers = table[["s", "max_rss", "cpu_time"]].apply(pd.to_numeric, errors="coerce")  # "-": not measured
        relative = path.relative_to(root) if root is not None else Path(path.name)
        rows.append(
            {
                "rule": relative.parts[0] if len(relative.parts) > 1 else path.stem,
                "job": path.stem,
                "wall_s": float(numbers["s"].mean()),
                "cpu_s": float(numbers["cpu_time"].mean()),
                "max_rss_mb": float(numbers["max_rss"].mean()),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "job", "wall_s", "cpu_s", "max_rss_mb"])


def stage_times(results_dir: str | Path) -> pd.DataFrame:
    """Jobs, summed wall and CPU seconds, the largest job's CPU seconds and the largest peak memory of
    each rule of the run in ``results_dir`` (:data:`STAGE_COLUMNS`), most CPU first."""
    root = Path(results_dir) / "benchmarks"
    if not root.is_dir():
        raise BenchmarkError(f"{root}: no benchmarks folder (has the run in {results_dir} started?)")
    jobs = read_benchmark_files(root.rglob("*.tsv"), root)
    if jobs.empty:
        return pd.DataFrame(columns=list(STAGE_COLUMNS))
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("job", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            max_job_cpu_s=("cpu_s", "max"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reset_index()
    )
    return table.sort_values(["cpu_s", "rule"], ascending=[False, True], ignore_index=True)[list(STAGE_COLUMNS)]


def totals(table: pd.DataFrame) -> dict[str, float]:
    """Jobs and summed wall and CPU seconds of a :func:`read_benchmark_files` or :func:`stage_times` table."""
    jobs = int(table["jobs"].sum()) if "jobs" in table else len(table)
    return {
        "jobs": jobs,
        "wall_s": round(float(table["wall_s"].sum()), 1),
        "cpu_s": round(float(table["cpu_s"].sum()), 1),
    }
