# Shared names and input functions of the workflow (no rules here).
import hashlib
from pathlib import Path

# Sources of triples to score. The example triples come from config scoring.triples.
SOURCES = ["example"]


wildcard_constraints:
    source="[A-Za-z0-9_]+",


scattergather:
    score=config["scoring"]["shards"],


def code_version(*modules):
    """Hash of the package files a rule runs, so a code change reruns it (Snakemake does not watch src/)."""
    root = Path(workflow.basedir) / "src" / "alloypref"
    digest = hashlib.sha256()
    for module in modules:
        path = root / module
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


SCORER_CODE = code_version("composition.py", "reward.py", "scoring.py", "calphad", "config.py")


def triples_input(wildcards):
    """The triples a source is scored from."""
    if wildcards.source == "example":
        return config["scoring"]["triples"]
    raise ValueError(f"unknown source {wildcards.source!r}")


scattergather:
    curate=config["design_space"]["filter"]["shards"],


DESIGN_SPACE_CODE = code_version("composition.py", "design_space.py", "calphad", "config.py", "scoring.py")
