"""Curated design spaces shipped with the package, so a run can skip the CALPHAD single-phase filter.

A shipped design space is a folder ``alloypref/data/design_space/<name>/`` holding

* ``curation.parquet``: every enumerated candidate with its minimum BCC and B2 phase fractions (0-1)
  over the filter temperatures, the database that scored it, its coverage, status and keep flag
  (:data:`alloypref.design_space.FILTER_SCHEMA`);
* ``bcc.parquet`` and ``b2.parquet``: the kept candidates of each kind (same schema);
* ``provenance.json``: the settings that decide the lists (:func:`curation_settings`, with each
  database's SHA-256), the enumeration and curation counts, the elements no database covers, the
  commit and package versions that made them, and the filter's CPU time.

A config with ``design_space.curated: shipped`` uses the folder ``design_space.shipped`` names, after
:func:`check_matches` has found the config's curation settings equal to the ones recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from alloypref.design_space import CANDIDATES_SCHEMA, FILTER_SCHEMA, DesignSpaceError, curated_lists
from alloypref.stage_times import read_benchmark_files, totals

#: Files of a shipped design space, in the order they are described above.
FILES = ("curation.parquet", "bcc.parquet", "b2.parquet", "provenance.json")
#: Version of the provenance layout; bump when its keys change.
PROVENANCE_VERSION = 1
#: Status of a candidate whose filter shard never ran (a curation stopped early); never kept.
NOT_FILTERED = "not_filtered"


def shipped_dir(name: str) -> Path:
    """The folder of the shipped design space ``name``; an unknown name raises naming the choices."""
    root = Path(str(resources.files("alloypref.data").joinpath("design_space")))
    folder = root / name
    if not (folder / "provenance.json").is_file():
        known = sorted(p.name for p in root.iterdir() if (p / "provenance.json").is_file()) if root.is_dir() else []
        raise DesignSpaceError(f"config key design_space.shipped: no shipped design space {name!r} (shipped: {known})")
    return folder


def shipped_files(name: str) -> list[Path]:
    """The files of a shipped design space (declared as a rule's inputs, so an edit reruns it)."""
    folder = shipped_dir(name)
    return [folder / file for file in FILES]


def _file_hash(path: str | Path | None) -> str | None:
    """SHA-256 (first 16 hex digits) of an optional file, None for no file."""
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        raise DesignSpaceError(f"config key design_space.seed_lists: file {path} not found")
    return hashlib.sha256(file.read_bytes()).hexdigest()[:16]


def curation_settings(config: Mapping[str, Any]) -> dict:
    """The config values that decide the curated lists, and nothing else.

    Elements, roles, BCC size, seed lists (by content hash), the filter's temperatures (K) and
    threshold (0-1), and the CALPHAD backend with each database by content hash: not the number of
    shards, time limits, the cache folder or the in-memory system count, which change how the lists
    are computed, not what they hold.
    """
    from alloypref.config import calphad_settings

    design = config["design_space"]
    calphad = config["calphad"]
    specs = calphad_settings({"calphad": calphad, "element_roles": config["element_roles"]}).databases
    backend = {
        "backend": calphad["backend"],
        "databases": [
            {
                "name": spec.name,
                "sha256_16": spec.content_hash,
                "phase_roles": dict(sorted(spec.phase_roles.items())),
                "strip_refs": spec.strip_refs,
            }
            for spec in specs
        ],
        "order_threshold": calphad["order_threshold"],
        # how many compiled systems a worker keeps changes speed and memory, not results
        "pycalphad": {key: value for key, value in calphad["pycalphad"].items() if key != "max_systems_in_memory"},
    }
    if calphad["backend"] != "pycalphad":
        backend["thermocalc_database"] = calphad["thermocalc_database"]
    return {
        "design_space": {
            "elements": sorted(design["elements"]) if design["elements"] is not None else None,
            "max_bcc_elements": design["max_bcc_elements"],
            "seed_lists": {kind: _file_hash(path) for kind, path in sorted(design["seed_lists"].items())},
            "filter": {
                "temperatures_K": [float(t) for t in design["filter"]["temperatures_K"]],
                "threshold": float(design["filter"]["threshold"]),
            },
        },
        "element_roles": {key: list(value) for key, value in sorted(config["element_roles"].items())},
        "calphad": backend,
    }


def _differences(expected: Any, actual: Any, key: str) -> list[tuple[str, Any, Any]]:
    """(key path, expected, actual) of every leaf where two JSON-like values differ."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        out = []
        for name in sorted(set(expected) | set(actual), key=str):
            out += _differences(expected.get(name), actual.get(name), f"{key}.{name}")
        return out
    if (
        isinstance(expected, list)
        and isinstance(actual, list)
        and len(expected) == len(actual)
        and any(isinstance(item, Mapping) for item in expected)
    ):
        out = []
        for index, (left, right) in enumerate(zip(expected, actual)):
            out += _differences(left, right, f"{key}.{index}")
        return out
    return [] if expected == actual else [(key, expected, actual)]


def settings_differences(recorded: Mapping[str, Any], settings: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(config key, recorded value, given value) of each curation setting that differs; both sides
    are compared in their JSON form (tuples as lists, keys as strings)."""
    found = _differences(json.loads(json.dumps(recorded)), json.loads(json.dumps(settings)), "")
    return [(key.lstrip("."), left, right) for key, left, right in found]


def check_matches(config: Mapping[str, Any], provenance: Mapping[str, Any], name: str) -> None:
    """Raise naming the first config key whose value differs from the shipped lists' settings."""
    differences = settings_differences(provenance["settings"], curation_settings(config))
    if differences:
        key, shipped, yours = differences[0]
        raise DesignSpaceError(
            f"config key {key}: {yours!r} differs from {shipped!r}, with which the shipped design "
            f"space {name!r} was curated ({len(differences)} difference(s)); set design_space.curated: compute "
            "to curate this config's own design space"
        )


@dataclass(frozen=True)
class ShippedDesignSpace:
    """A shipped design space read back: every candidate, the kept lists, and the provenance."""

    curation: pd.DataFrame
    bcc: pd.DataFrame
    b2: pd.DataFrame
    provenance: dict


#: The curation table of design spaces shipped before the filter judged trust: no ``trusted`` and
#: ``trust_reason`` columns.
BEFORE_TRUST_SCHEMA = pa.schema([f for f in FILTER_SCHEMA if f.name not in ("trusted", "trust_reason")])
NOT_JUDGED = "not judged: curated before the single-phase filter judged trust"


def _with_trust_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A shipped curation table with the trust columns: as shipped, or for a design space curated
    before trust was judged, ``trusted`` null (unknown) and ``trust_reason`` saying so."""
    if "trusted" in table.columns and "trust_reason" in table.columns:
        return table[FILTER_SCHEMA.names]
    table = table.assign(trusted=pd.array([pd.NA] * len(table), dtype="boolean"), trust_reason=NOT_JUDGED)
    return table[FILTER_SCHEMA.names]


def load_shipped(name: str) -> ShippedDesignSpace:
    """Read the shipped design space ``name`` (tables checked against ``FILTER_SCHEMA``; one curated
    before trust was judged gets null ``trusted``, see :func:`_with_trust_columns`)."""
    from alloypref.io import read_parquet

    folder = shipped_dir(name)
    tables = [_with_trust_columns(read_parquet(folder / file, BEFORE_TRUST_SCHEMA)) for file in FILES[:3]]
    provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    if provenance.get("version") != PROVENANCE_VERSION:
        raise DesignSpaceError(
            f"{folder / 'provenance.json'}: provenance version {provenance.get('version')!r}, "
            f"expected {PROVENANCE_VERSION}"
        )
    return ShippedDesignSpace(*tables, provenance)


def materialize(shipped: ShippedDesignSpace, min_coverage: float) -> dict[str, Any]:
    """The design-space artifacts of a run, made from a shipped design space: the candidates and
    curation tables, the kept lists and both counts files, as the curation rules would write them."""
    bcc, b2, curation_counts = curated_lists(shipped.curation, min_coverage)
    return {
        "candidates": shipped.curation[CANDIDATES_SCHEMA.names].reset_index(drop=True),
        "enumeration_counts": dict(shipped.provenance["enumeration_counts"]),
        "curation": shipped.curation,
        "bcc": bcc,
        "b2": b2,
        "curation_counts": curation_counts,
    }


def _filter_benchmark(results_dir: Path) -> dict[str, float]:
    """Summed wall and CPU seconds of the filter jobs, the largest job's CPU seconds and peak memory
    (MB): what ``filter_candidates`` asks a cluster for is sized from these."""
    jobs = read_benchmark_files(sorted((results_dir / "benchmarks" / "filter_candidates").glob("*.tsv")))
    if jobs.empty:
        return {**totals(jobs), "max_job_cpu_s": 0.0, "max_rss_mb": 0.0}
    return {
        **totals(jobs),
        "max_job_cpu_s": round(float(jobs["cpu_s"].max()), 1),
        "max_rss_mb": round(float(jobs["max_rss_mb"].max()), 1),
    }


def curation_so_far(candidates: pd.DataFrame, shards: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The curation table of a run stopped before every filter shard ran: the finished shards' rows,
    and every other candidate with status ``not_filtered`` (not kept), so the table still holds the
    whole enumeration and says what was not filtered."""
    done = pd.concat(list(shards), ignore_index=True) if shards else pd.DataFrame(columns=FILTER_SCHEMA.names)
    key = ["kind", "composition"]
    missing = candidates.merge(done[key], on=key, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    missing = missing.assign(
        database="",
        coverage=float("nan"),  # unknown, so not counted as low coverage
        trusted=False,
        trust_reason="not judged: the candidate was not filtered",
        min_bcc_fraction=float("nan"),
        min_b2_fraction=float("nan"),
        status=NOT_FILTERED,
        reason="the curation run stopped before this candidate's filter shard ran",
        keep=False,
    )
    table = pd.concat([done, missing[FILTER_SCHEMA.names]], ignore_index=True)
    return table.sort_values(["elements", "kind", "formula"], kind="stable").reset_index(drop=True)


def write_shipped(config: Mapping[str, Any], results_dir: Path, out_dir: Path, repo: Path) -> dict:
    """Package a curation run (``results_dir/design_space``) as a shipped design space: its
    ``curation.parquet``, or, when the run stopped before ``curate``, its finished filter shards and
    the other candidates as ``not_filtered`` (:func:`curation_so_far`).

    Returns the provenance written to ``out_dir/provenance.json``.
    """
    from alloypref.backend_factory import make_backend
    from alloypref.config import calphad_settings
    from alloypref.design_space import ElementRoles
    from alloypref.io import atomic_write_text, read_parquet, write_parquet
    from alloypref.provenance import git_commit, package_versions

    design = Path(results_dir) / "design_space"
    if (design / "curation.parquet").is_file():
        curation = read_parquet(design / "curation.parquet", FILTER_SCHEMA)
    else:
        shards = [read_parquet(path, FILTER_SCHEMA) for path in sorted((design / "shards").glob("*.filtered.parquet"))]
        curation = curation_so_far(read_parquet(design / "candidates.parquet", CANDIDATES_SCHEMA), shards)
    bcc, b2, counts = curated_lists(curation, config["calphad"]["min_coverage"])
    enumeration = json.loads((design / "enumeration_counts.json").read_text(encoding="utf-8"))
    roles = ElementRoles.from_config(config["element_roles"])
    covered = make_backend(calphad_settings(config)).elements()
    wanted = (
        roles.all_elements if config["design_space"]["elements"] is None else set(config["design_space"]["elements"])
    )
    provenance = {
        "version": PROVENANCE_VERSION,
        "settings": curation_settings(config),
        "elements": enumeration["elements"],
        "uncovered_elements": sorted(wanted - set(covered)),
        "enumeration_counts": enumeration,
        "curation_counts": counts,
        # candidates of shards a stopped curation never ran (status not_filtered): none when complete
        "not_filtered": int((curation["status"] == NOT_FILTERED).sum()),
        "databases_used": curation.loc[curation["status"] == "ok", "database"].value_counts().sort_index().to_dict(),
        "filter_benchmark": _filter_benchmark(Path(results_dir)),
        "git": git_commit(repo),
        "packages": {k: v for k, v in package_versions().items() if k in ("pycalphad", "symengine", "numpy", "scipy")},
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table, file in zip((curation, bcc, b2), FILES[:3]):
        write_parquet(table, out / file, FILTER_SCHEMA)
    atomic_write_text(out / "provenance.json", json.dumps(provenance, indent=2, default=str) + "\n")
    return provenance
