"""MkDocs hook: the documentation pages and sections written from the repository's own files.

* ``configuration-reference.md``, a page generated from ``config/schemas/config.schema.yaml`` (the one
  home of every config key, its type, default, bounds and description), so it cannot drift from the
  schema the workflow validates against.
* In any page, a line ``<!-- generated: NAME -->`` is replaced by the Markdown of NAME:
  ``measured-rates`` (the figures of ``src/alloypref/measured_rates.py``, read with ``ast``),
  ``cost-model paper`` / ``cost-model medium`` (the output of ``alloypref cost-model`` for that
  config, when the package is importable), ``benchmark-results`` (every JSON file under
  ``benchmarks/outputs/``).

Only the standard library and PyYAML (a dependency of MkDocs) are needed; the functions take paths so
``tests/test_docs.py`` can call them without MkDocs.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"
MEASURED_RATES = REPO / "src" / "alloypref" / "measured_rates.py"
BENCHMARK_RESULTS = REPO / "benchmarks" / "outputs"
CONFIG_REFERENCE_PAGE = "configuration-reference.md"
MARKER = re.compile(r"^<!-- generated: ([\w -]+) -->$", flags=re.M)
BOUND_WORDS = {
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "exclusiveMinimum": "> {}",
    "exclusiveMaximum": "< {}",
    "minItems": "at least {} items",
    "minProperties": "at least {} entries",
    "minLength": "at least {} characters",
    "pattern": "matches `{}`",
}


# ------------------------------------------------------------------------------------------------
# The configuration reference


def _resolve(node: dict, schema: dict) -> dict:
    """``node`` with its ``$ref`` (``#/$defs/NAME``) merged under its own keys (its own keys win)."""
    if "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    merged = {**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}
    return merged


def schema_entries(schema: dict) -> list[tuple[str, dict]]:
    """Every config key of the schema as (dotted key, resolved node), parents before children.

    A mapping of named entries (``models``, ``baselines.api``) contributes ``KEY.*``; a list of
    mappings (``calphad.databases``) ``KEY[].``.
    """
    entries: list[tuple[str, dict]] = []

    def walk(prefix: str, node: dict) -> None:
        node = _resolve(node, schema)
        for name, child in node.get("properties", {}).items():
            key = f"{prefix}{name}"
            resolved = _resolve(child, schema)
            entries.append((key, resolved))
            walk(key + ".", resolved)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and prefix:
            resolved = _resolve(extra, schema)
            if resolved.get("properties") or isinstance(resolved.get("additionalProperties"), dict):
                entries.append((prefix + "*", resolved))
                walk(prefix + "*.", resolved)
        items = node.get("items")
        if isinstance(items, dict) and _resolve(items, schema).get("properties"):
            walk(prefix.rstrip(".") + "[].", items)

    walk("", schema)
    return entries


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(node: dict) -> str:
    kind = node.get("type")
    if kind is None and "enum" in node:
        kind = "string"
    kinds = kind if isinstance(kind, list) else [kind] if kind else ["any"]
    text = " or ".join(kinds)
    items = node.get("items")
    if "array" in kinds and isinstance(items, dict) and items.get("type"):
        text = text.replace("array", f"array of {items['type']}")
    return text


def _bounds(node: dict) -> str:
    parts = [BOUND_WORDS[key].format(node[key]) for key in BOUND_WORDS if key in node]
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{value}`" for value in node["enum"]))
    items = node.get("items")
    if isinstance(items, dict):
        inner = [BOUND_WORDS[key].format(items[key]) for key in BOUND_WORDS if key in items]
        if "enum" in items:
            inner.append("one of " + ", ".join(f"`{value}`" for value in items["enum"]))
        if inner:
            parts.append("each item " + ", ".join(inner))
    if node.get("uniqueItems"):
        parts.append("no repeats")
    if "required" in node:
        parts.append("requires " + ", ".join(f"`{key}`" for key in node["required"]))
    return "; ".join(parts)


def _default(node: dict) -> tuple[str, str | None]:
    """The table cell of a default and, for a long one, a YAML block to print under the table."""
    if "default" not in node:
        return "—", None
    if node.get("type") == "object" and node["default"] == {} and node.get("properties"):
        return "(its keys' defaults)", None
    text = json.dumps(node["default"], ensure_ascii=False)
    if len(text) <= 60:
        return f"`{text}`", None
    return "see below", yaml.safe_dump(node["default"], sort_keys=False, allow_unicode=True)


def config_reference_markdown(schema_path: Path = SCHEMA) -> str:
    """The configuration reference page: one table per top-level section, every key of the schema."""
    schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    entries = schema_entries(schema)
    lines = [
        "# Configuration reference",
        "",
        "Generated when the site is built from `config/schemas/config.schema.yaml`, the JSON schema every",
        "config is validated against and the one home of the defaults (`alloypref.config_schema`). Edit",
        "the schema, not this page. Units are in the key names: `_K` kelvin, `_s` seconds, `_A` ångström,",
        "`_mb` megabytes. A key shown with `—` as its default has none in the schema; for the sub-blocks",
        "of a model entry (`tiny`, `lora`, `sft`, `dpo`, `sampling`) the dataclasses of",
        "`alloypref.lm.registry` fill the keys a config leaves out. `*` stands for any name of a mapping",
        "of named entries (a model, an API source), `[]` for each item of a list.",
        "",
        "How configs are chosen and layered: [Configuration](configuration.md).",
        "",
    ]
    sections: dict[str, list[tuple[str, dict]]] = {}
    for key, node in entries:
        sections.setdefault(re.split(r"[.\[]", key)[0], []).append((key, node))
    for section, rows in sections.items():
        lines += [f"## `{section}`", ""]
        lines += ["| key | type | default | bounds | description |", "|---|---|---|---|---|"]
        long_defaults = []
        for key, node in rows:
            default, block = _default(node)
            if block:
                long_defaults.append((key, block))
            cells = [f"`{key}`", _type(node), default, _bounds(node), node.get("description", "")]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        lines.append("")
        for key, block in long_defaults:
            lines += [f"Default of `{key}`:", "", "```yaml", block.rstrip(), "```", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Measured rates and benchmark outputs


def measured_rates_markdown(path: Path = MEASURED_RATES) -> str:
    """The figures of ``measured_rates.py``: ``MeasuredRates``' fields and the documented constants."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    source_lines = source.splitlines()
    lines = ["| figure | value | where it comes from |", "|---|---|---|"]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "MeasuredRates":
            for field in node.body:
                if isinstance(field, ast.AnnAssign):
                    value = ast.literal_eval(field.value)
                    lines.append(f"| `MeasuredRates.{field.target.id}` | {value} | `MeasuredRates` (above the table) |")
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            comment = []
            row = node.lineno - 2
            while row >= 0 and source_lines[row].startswith("#:"):
                comment.insert(0, source_lines[row][2:].strip())
                row -= 1
            if comment:
                value = ast.literal_eval(node.value)
                lines.append(f"| `{node.targets[0].id}` | `{value}` | {_cell(' '.join(comment))} |")
    doc = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MeasuredRates")
    intro = ["`MeasuredRates`, the rates of the cost model:", "", "> " + " ".join(ast.get_docstring(doc).split()), ""]
    return "\n".join(intro + lines)


def cost_model_markdown(config: str) -> str:
    """``alloypref cost-model`` for ``config/<config>.yaml``, as it prints it now."""
    command = [sys.executable, "-m", "alloypref.cli", "cost-model", "--config", f"config/{config}.yaml"]
    command += ["--cores", "32", "64"] if config == "paper" else ["--cores", "16", "32"]
    shown = "python -m alloypref.cli " + " ".join(command[3:])
    if importlib.util.find_spec("alloypref") is None:
        return f"*Not generated: the package is not installed where the site was built. Run* `{shown}`."
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{shown} failed:\n{result.stderr[-2000:]}")
    return f"`{shown}` (run when this site was built):\n\n```\n{result.stdout.strip()}\n```"


def _flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [row for key, inner in value.items() for row in _flatten(inner, f"{prefix}{key} ")]
    return [(prefix.strip(), value)]


def benchmark_results_markdown(folder: Path = BENCHMARK_RESULTS) -> str:
    """Every JSON file under ``benchmarks/outputs/`` as a table: one row per phase, its figures."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return "*No benchmark output is committed under `benchmarks/outputs/`.* Regenerate one as below."
    lines = []
    for path in files:
        phases = json.loads(path.read_text(encoding="utf-8"))
        lines += [f"### `benchmarks/outputs/{path.name}`", "", "| phase | figures |", "|---|---|"]
        for phase, value in phases.items():
            figures = _flatten(value) if isinstance(value, dict) else [("", value)]
            shown = ", ".join(f"{name} {_number(figure)}".strip() for name, figure in figures)
            lines.append(f"| `{phase}` | {_cell(shown)} |")
        lines.append("")
    return "\n".join(lines)


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def generated_section(name: str) -> str:
    kind, _, argument = name.strip().partition(" ")
    if kind == "measured-rates":
        return measured_rates_markdown()
    if kind == "cost-model":
        return cost_model_markdown(argument)
    if kind == "benchmark-results":
        return benchmark_results_markdown()
    raise ValueError(f"unknown generated section {name!r} (<!-- generated: {name} -->)")


# ------------------------------------------------------------------------------------------------
# MkDocs events


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, CONFIG_REFERENCE_PAGE, content=config_reference_markdown()))
    return files


def on_page_markdown(markdown, page, config, files):
    return MARKER.sub(lambda match: generated_section(match.group(1)), markdown)
