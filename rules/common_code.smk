# Code versions (no rules here): each rule's params carry a hash of the package code its script
# imports (alloypref.code_versions), so a change to that code reruns the rule's jobs.
from pathlib import Path

from alloypref.code_versions import CodeVersions

_CODE_VERSIONS = CodeVersions(workflow.basedir)


def code_version(script):
    """Hash of the package files a rule's script imports (paths and contents)."""
    return _CODE_VERSIONS.script_version(script)


def data_version(files):
    """Hash of data files the package ships (names and contents). Package data reaches its jobs by
    this hash in params, never as an input, which Snakemake records by its path; the package's
    absolute path would tie the results to this checkout (moved or copied, its jobs would rerun)."""
    import hashlib

    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).name.encode())
        digest.update(Path(file).read_bytes())
    return digest.hexdigest()[:12]


def package_version():
    """Hash of the whole package (the manifest records what ran)."""
    return _CODE_VERSIONS.package_version()


# The prompt wording is package data, not a .py file, so code_version() would not see it change.
API_PROMPTS = _CODE_VERSIONS.data_version("data/prompts", "*.txt")
# The explorer's page template, script and style sheet are package data too (rule explorer).
EXPLORER_ASSETS = _CODE_VERSIONS.data_version("data/explorer")
