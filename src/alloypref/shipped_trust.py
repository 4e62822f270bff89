"""Trust evidence shipped with the package, so the command line judges trust without a finished run.

``alloypref ship-trust --out DIR`` writes into ``DIR``:

* ``phase_checks.parquet`` (:data:`alloypref.calphad.phase_inventory.PHASE_CHECK_SCHEMA`): the phase
  inventory checked against every configured database;
* ``subsystem_verdicts.parquet`` (:data:`alloypref.calphad.report_card.SUBSYSTEM_VERDICT_SCHEMA`):
  the report card over *all* shipped facts (not only a design space's), per (database, subsystem);
* ``provenance.json``: what made them: each database's identity (file SHA-256, applied patches and
  their SHA-256, phase roles), the SHA-256 of the facts, inventory and phase-kind files, the report
  card settings, the package version and the git commit.

The package's copy lives in ``alloypref/data/trust`` (:meth:`alloypref.calphad.trust.TrustEvidence.shipped`).
The report card runs as resumable shards (:func:`alloypref.calphad.report_card.evaluate_sharded`):
pointing ``--shards`` at the shards of an earlier card reuses every shard whose facts, database and
settings are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from alloypref.calphad.trust import SHIPPED_PHASE_CHECKS, SHIPPED_VERDICTS

PROVENANCE = "provenance.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrustTables:
    """The two evidence tables and the report card they were made from."""

    phase_checks: pd.DataFrame
    verdicts: pd.DataFrame
    card: pd.DataFrame


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def database_identities(specs) -> list[dict[str, Any]]:
    """Name, TDB file, its SHA-256, the patches applied at load (name and SHA-256), the content hash
    (file plus patches) and the load settings of each configured database."""
    return [
        {
            "name": spec.name,
            "file": spec.resolved_path.name,
            "file_sha256": spec.file_sha256,
            "patches": [{"name": p.name, "sha256": p.sha256} for p in spec.patch_files],
            "content_hash_16": spec.content_hash,
            "phase_roles": dict(sorted(spec.phase_roles.items())),
            "strip_refs": spec.strip_refs,
        }
        for spec in specs
    ]


def compute(
    config: Mapping[str, Any],
    shard_dir: str | Path,
    logger: logging.Logger | None = None,
) -> TrustTables:
    """Phase checks and subsystem verdicts of every database of ``config`` (a validated config whose
    ``calphad.cache_dir`` is where compiled systems are kept), the card solved shard by shard under
    ``shard_dir``; progress (facts done, ETA) goes to ``logger``. Raises ``ValueError`` when the
    config's backend is not pycalphad."""
    from alloypref.backend_factory import make_backend
    from alloypref.calphad.phase_inventory import inventory_tables, load_inventory, load_kind_map
    from alloypref.calphad.report_card import evaluate_sharded, load_facts, report_card_settings, subsystem_verdicts
    from alloypref.config import calphad_settings
    from alloypref.progress import ProgressLog

    settings = calphad_settings(config)
    backend = make_backend(settings)
    if not hasattr(backend, "specs"):
        raise ValueError(f"trust evidence needs the pycalphad backend (calphad.backend is {settings.backend!r})")
    databases = [(spec, backend.database(spec.name)) for spec in settings.databases]
    checks, _ = inventory_tables(databases, load_inventory(), load_kind_map())
    facts = load_facts(config["report_card"]["facts"])
    progress = ProgressLog(len(facts) * len(databases), "report card", logger or log, unit="facts")
    card = evaluate_sharded(facts, backend, report_card_settings(config["report_card"]), shard_dir, progress)
    return TrustTables(checks, subsystem_verdicts(card), card)


def provenance(config: Mapping[str, Any], tables: TrustTables, repo: Path | None) -> dict[str, Any]:
    """What made the evidence (see the module docstring)."""
    from alloypref import __version__
    from alloypref.calphad.phase_inventory import default_inventory_path, default_kind_map_path
    from alloypref.calphad.report_card import default_facts_path
    from alloypref.config import calphad_settings
    from alloypref.provenance import git_commit, package_versions

    facts = Path(config["report_card"]["facts"] or default_facts_path())
    card = tables.card
    return {
        "databases": database_identities(calphad_settings(config).databases),
        "facts": {"file": facts.name, "sha256": _sha256(facts), "n_facts": int(card["fact_id"].nunique())},
        "phase_inventory": {"file": default_inventory_path().name, "sha256": _sha256(default_inventory_path())},
        "phase_kinds": {"file": default_kind_map_path().name, "sha256": _sha256(default_kind_map_path())},
        "report_card": {k: v for k, v in config["report_card"].items() if k != "facts"},
        "pycalphad_settings": dict(config["calphad"]["pycalphad"]),
        "order_threshold": config["calphad"]["order_threshold"],
        "counts": {
            "phase_checks": len(tables.phase_checks),
            "subsystem_verdicts": len(tables.verdicts),
            "untrusted_subsystems": int((tables.verdicts["verdict"] == "untrusted").sum()),
        },
        "alloypref_version": __version__,
        "git": git_commit(repo) if repo is not None else {"commit": None, "dirty": None},
        "packages": {k: v for k, v in package_versions().items() if k in ("pycalphad", "symengine", "numpy", "scipy")},
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write(tables: TrustTables, out_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Write the two tables and ``provenance.json`` into ``out_dir`` (created); returns it."""
    from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
    from alloypref.calphad.report_card import SUBSYSTEM_VERDICT_SCHEMA
    from alloypref.io import atomic_write_text, write_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(tables.phase_checks, out / SHIPPED_PHASE_CHECKS, PHASE_CHECK_SCHEMA)
    write_parquet(tables.verdicts, out / SHIPPED_VERDICTS, SUBSYSTEM_VERDICT_SCHEMA)
    atomic_write_text(out / PROVENANCE, json.dumps(record, indent=2, default=str) + "\n")
    return out
