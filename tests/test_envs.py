"""The conda environment the rules name installs what their scripts import."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml

from .helpers import REPO

# imported only where selected, each with a message naming what to install: the proprietary
# Thermo-Calc backend (tc-python ships with Thermo-Calc), vLLM sampling on a GPU machine
# (models.*.sampling.backend: vllm), and DSPy prompt tuning (the `dspy` extra, which brings optuna)
OPTIONAL_IMPORTS = {"tc_python", "vllm", "dspy", "optuna"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "alloypref" and not n.startswith("_")}


def test_every_rule_names_the_one_env_and_it_installs_this_package_with_the_pins():
    named = set()
    for smk in (REPO / "rules").glob("*.smk"):
        named |= set(re.findall(r'"\.\./(envs/[^"]+)"', smk.read_text()))
    assert named == {"envs/alloypref.yaml"}
    env = yaml.safe_load((REPO / "envs/alloypref.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "-c ../constraints.txt" in pip and any(line.startswith("-e ..") for line in pip)
    assert (REPO / "envs" / ".." / "constraints.txt").is_file() and (REPO / "envs" / ".." / "pyproject.toml").is_file()


def test_every_import_of_the_scripts_and_the_package_is_a_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {normalise(re.split(r"[<>=\[ ;!~]", d)[0]) for d in project["dependencies"]}
    providers = packages_distributions()
    files = [*(REPO / "workflow_scripts").glob("*.py"), *(REPO / "src/alloypref").rglob("*.py")]
    missing = {}
    for path in files:
        for name in third_party_imports(path) - OPTIONAL_IMPORTS:
            distributions = {normalise(d) for d in providers.get(name, [name])}
            if not distributions & declared:
                missing.setdefault(name, []).append(path.name)
    assert not missing, f"imported but not in pyproject dependencies: {missing}"
