"""The run manifest: what produced a results folder (config, databases, packages, seeds, commit)."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "alloypref",
    "pycalphad",
    "symengine",
    "pymatgen",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "snakemake",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "tokenizers",
)


def config_hash(config: Mapping) -> str:
    """SHA-256 of the resolved config as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo: Path) -> dict[str, str | bool | None]:
    """HEAD of the workflow's repository and whether the tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        return {"commit": head, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def manifest(config: Mapping, repo: Path) -> dict:
    """Everything needed to tell two runs apart."""
    from alloypref.config import calphad_settings

    settings = calphad_settings(config)
    return {
        "config_sha256": config_hash(config),
        "config": config,
        "seeds": {"seed": config["seed"]},
        "databases": {
            spec.name: {
                "path": str(spec.resolved_path),
                "sha256_16": spec.content_hash,  # the file and its patches
                "file_sha256": spec.file_sha256,
                "patches": [patch.name for patch in spec.patch_files],
            }
            for spec in settings.databases
        },
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git": git_commit(repo),
    }
