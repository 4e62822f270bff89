# Code versions (no rules here): each rule's params carry a hash of the package code its script
# imports (alloypref.code_versions), so a change to that code reruns the rule's jobs.
from alloypref.code_versions import CodeVersions

_CODE_VERSIONS = CodeVersions(workflow.basedir)


def code_version(script):
    """Hash of the package files a rule's script imports (paths and contents)."""
    return _CODE_VERSIONS.script_version(script)


def package_version():
    """Hash of the whole package (the manifest records what ran)."""
    return _CODE_VERSIONS.package_version()


# The prompt wording is package data, not a .py file, so code_version() would not see it change.
API_PROMPTS = _CODE_VERSIONS.data_version("data/prompts", "*.txt")
