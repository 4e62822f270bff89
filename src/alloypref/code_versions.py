"""Hashes of the package code a workflow job runs, for the rules' ``params`` (``code=``).

Snakemake watches a rule's script file, not the package it imports, so each rule's params carry a
hash of every package module its script imports, found by walking the imports (also those inside
functions). The hashes cover each file's path relative to the workflow's folder and its contents.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path


class CodeVersions:
    """Code hashes of the workflow in folder ``basedir`` (its package in ``src/alloypref``, its
    scripts in ``workflow_scripts``)."""

    def __init__(self, basedir: str | Path):
        self.basedir = Path(basedir)
        self.package = self.basedir / "src" / "alloypref"
        self.scripts = self.basedir / "workflow_scripts"

    def module_file(self, name: str) -> Path | None:
        """The file of module ``alloypref.a.b`` (or a ``_helper`` of the scripts), or None if it is not ours."""
        parts = name.split(".")
        if parts[0].startswith("_") and (self.scripts / f"{parts[0]}.py").is_file():
            return self.scripts / f"{parts[0]}.py"
        if parts[0] != "alloypref":
            return None
        base = self.package.joinpath(*parts[1:])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def imported_files(self, path: Path) -> set[Path]:
        """Package files ``path`` imports (also inside functions), with the packages' __init__ files."""
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = ["alloypref", *path.relative_to(self.package).parent.parts] if self.package in path.parents else []
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(
                        [*package[: len(package) - node.level + 1], *([node.module] if node.module else [])]
                    )
                else:
                    base = node.module or ""
                names.append(base)
                names += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
        files = set()
        for name in names:
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
                found = self.module_file(".".join(parts[:depth]))
                if found is not None:
                    files.add(found)
        return files

    def script_modules(self, script: str) -> list[Path]:
        """Every package module (and ``_common.py``) the workflow script imports, transitively."""
        seen, todo = set(), [self.scripts / script]
        while todo:
            for found in self.imported_files(todo.pop()):
                if found not in seen:
                    seen.add(found)
                    todo.append(found)
        return sorted(seen)

    def _digest(self, files: list[Path]) -> str:
        digest = hashlib.sha256()
        for file in files:
            digest.update(str(file.relative_to(self.basedir)).encode())
            digest.update(file.read_bytes())
        return digest.hexdigest()[:12]

    def script_version(self, script: str) -> str:
        """Hash of the package files a rule's script imports (paths and contents)."""
        return self._digest(self.script_modules(script))

    def package_version(self) -> str:
        """Hash of the whole package (the manifest records what ran)."""
        return self._digest(sorted(self.package.rglob("*.py")))

    def data_version(self, folder: str, pattern: str = "*") -> str:
        """Hash of the contents of the package data files ``src/alloypref/<folder>/<pattern>`` (sorted
        by name): data a script reads is no import, so :meth:`script_version` does not see it change."""
        return hashlib.sha256(
            b"".join(path.read_bytes() for path in sorted((self.package / folder).glob(pattern)))
        ).hexdigest()[:12]
