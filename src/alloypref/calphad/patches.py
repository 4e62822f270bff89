"""Documented corrections to shipped TDB files, applied to the text when a database is loaded.

A shipped database stays byte for byte the file its authors published; each defect found in it is
fixed by a patch file next to it, ``alloypref/data/tdb/patches/<TDB file name>/<name>.yaml``::

    description: one line saying what the patch does
    defect: what is wrong in the original file, and what it does to an equilibrium
    source: the publication or analysis that justifies the fix
    applies_to_sha256: <SHA-256 of the original TDB file, 64 hex digits>
    edits:
      - line: 7229                      # 1-based line of the original file
        old: "$PARAMETER G(...) ... !"  # that line exactly (trailing blanks ignored)
        new: "PARAMETER G(...) ... !"   # its replacement; "" deletes the line

Edits refer to the original file's line numbers, so their order in the file does not matter. A
patch whose ``applies_to_sha256`` or ``old`` text does not match the file is an error, not a
silent no-op: a patch written for one version of a database must never edit another. The patches
applied are part of the database's identity (:attr:`DatabaseSettings.content_hash
<alloypref.calphad.databases.DatabaseSettings.content_hash>`), so caches and checkpoints keyed by the
database change with them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

PATCH_KEYS = ("description", "defect", "source", "applies_to_sha256", "edits")
EDIT_KEYS = ("line", "old", "new")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PatchError(ValueError):
    """A patch file is malformed or does not fit its database; the message names file and line."""


@dataclass(frozen=True)
class Edit:
    """Replace line ``line`` (1-based) of the original file, which must read ``old``, by ``new``."""

    line: int
    old: str
    new: str
    where: str  # "patch.yaml:12", for error messages


@dataclass(frozen=True)
class TdbPatch:
    """One documented correction to one TDB file (see the module docstring for the format)."""

    name: str
    path: Path
    description: str
    defect: str
    source: str
    applies_to_sha256: str
    edits: tuple[Edit, ...]
    sha256: str  # of the patch file itself: part of the database's identity


def shipped_patch_dir(tdb_file_name: str) -> Path:
    """Folder holding the shipped patches of a TDB file (it may not exist)."""
    return Path(str(resources.files("alloypref.data").joinpath("tdb", "patches", tdb_file_name)))


def shipped_patches(tdb_file_name: str) -> list[str]:
    """Names (file stems, sorted) of the patches shipped for a TDB file."""
    folder = shipped_patch_dir(tdb_file_name)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_patch(name_or_path: str, tdb_file_name: str) -> Path:
    """A patch file from a shipped patch name or a path to a ``.yaml`` file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".yaml" and candidate.is_file():
        return candidate
    shipped = shipped_patch_dir(tdb_file_name) / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    raise PatchError(
        f"patch {name_or_path!r} for {tdb_file_name}: no such file, and not one of the shipped patches "
        f"{shipped_patches(tdb_file_name)}"
    )


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _scalar(path: Path, mapping: yaml.MappingNode, key: str, kind: type) -> tuple[object, yaml.Node]:
    for key_node, value_node in mapping.value:
        if key_node.value == key:
            if not isinstance(value_node, yaml.ScalarNode):
                raise PatchError(f"{_where(path, value_node)}: {key!r} must be a single value")
            value = yaml.safe_load(yaml.serialize(value_node))
            if kind is str and value is None:
                value = ""
            if not isinstance(value, kind) or isinstance(value, bool):
                raise PatchError(
                    f"{_where(path, value_node)}: {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}"
                )
            return value, value_node
    raise PatchError(f"{_where(path, mapping)}: key {key!r} missing")


def _check_keys(path: Path, mapping: yaml.Node, allowed: tuple[str, ...], what: str) -> None:
    if not isinstance(mapping, yaml.MappingNode):
        raise PatchError(f"{_where(path, mapping)}: {what} must be a mapping with keys {list(allowed)}")
    for key_node, _ in mapping.value:
        if key_node.value not in allowed:
            raise PatchError(
                f"{_where(path, key_node)}: unknown key {key_node.value!r} in {what}; allowed: {list(allowed)}"
            )


def read_patch(path: Path) -> TdbPatch:
    """Parse and check one patch file; every error names the file and the line."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        root = yaml.compose(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PatchError(f"{path}: not a readable YAML file: {exc}") from exc
    if root is None:
        raise PatchError(f"{path}:1: empty patch file")
    _check_keys(path, root, PATCH_KEYS, "a patch")
    fields = {key: _scalar(path, root, key, str)[0] for key in PATCH_KEYS if key != "edits"}
    for key in ("description", "defect", "source"):
        if not str(fields[key]).strip():
            raise PatchError(f"{_where(path, _scalar(path, root, key, str)[1])}: {key!r} must not be empty")
    sha, sha_node = _scalar(path, root, "applies_to_sha256", str)
    if not _SHA256.fullmatch(sha):
        raise PatchError(f"{_where(path, sha_node)}: applies_to_sha256 must be 64 lower-case hex digits, got {sha!r}")
    edits_node = next((v for k, v in root.value if k.value == "edits"), None)
    if edits_node is None:
        raise PatchError(f"{_where(path, root)}: key 'edits' missing")
    if not isinstance(edits_node, yaml.SequenceNode) or not edits_node.value:
        raise PatchError(f"{_where(path, edits_node)}: 'edits' must be a non-empty list")
    edits = []
    for item in edits_node.value:
        _check_keys(path, item, EDIT_KEYS, "an edit")
        line, line_node = _scalar(path, item, "line", int)
        if line < 1:
            raise PatchError(f"{_where(path, line_node)}: line must be >= 1, got {line}")
        old = _scalar(path, item, "old", str)[0]
        new = _scalar(path, item, "new", str)[0]
        edits.append(Edit(line, old, new, _where(path, item)))
    lines = [e.line for e in edits]
    repeated = sorted({n for n in lines if lines.count(n) > 1})
    if repeated:
        raise PatchError(f"{path}: lines edited more than once: {repeated}")
    return TdbPatch(
        name=path.stem,
        path=path,
        description=fields["description"],
        defect=fields["defect"],
        source=fields["source"],
        applies_to_sha256=sha,
        edits=tuple(edits),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def apply_patches(text: str, file_sha256: str, patches: list[TdbPatch], tdb_path: Path) -> str:
    """The TDB text with every patch's edits applied (each patch checked against the original file)."""
    lines = text.splitlines()
    for patch in patches:
        if patch.applies_to_sha256 != file_sha256:
            raise PatchError(
                f"{patch.path}: applies to a file with SHA-256 {patch.applies_to_sha256}, but {tdb_path} has "
                f"{file_sha256}; the patch was written for another version of this database"
            )
        for edit in patch.edits:
            if edit.line > len(lines):
                raise PatchError(f"{edit.where}: line {edit.line} is past the end of {tdb_path} ({len(lines)} lines)")
            if lines[edit.line - 1].rstrip() != edit.old.rstrip():
                raise PatchError(
                    f"{edit.where}: line {edit.line} of {tdb_path} reads {lines[edit.line - 1].rstrip()!r}, "
                    f"not {edit.old.rstrip()!r}"
                )
    replaced = {edit.line: edit.new for patch in patches for edit in patch.edits}
    if sum(len(p.edits) for p in patches) != len(replaced):
        raise PatchError(f"{tdb_path}: two patches edit the same line: {[p.path.name for p in patches]}")
    out = []
    for number, line in enumerate(lines, start=1):
        if number in replaced:
            if replaced[number]:
                out.append(replaced[number])
        else:
            out.append(line)
    return "\n".join(out) + "\n"
