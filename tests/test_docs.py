"""The documentation site: generated pages that cannot drift, a navigation without holes, a short README.

The site itself is built by `mkdocs build --strict` in `.ci/run` (broken links and anchors are errors
there); these tests hold what a build cannot see: that the configuration reference names every key of
the schema with its default, and that the committed rule graph names only rules that exist.
"""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml

from .helpers import REPO

DOCS = REPO / "docs"


def _hook():
    spec = importlib.util.spec_from_file_location("generated_pages", DOCS / "hooks" / "generated_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _MkDocsLoader(yaml.SafeLoader):
    """mkdocs.yml names Python objects (`!!python/name:`); the nav needs none of them."""


_MkDocsLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix)


def _schema_keys(node: dict, schema: dict, prefix: str = "") -> dict[str, dict]:
    """Dotted key -> node of every property of the schema, walked here independently of the hook."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    keys = {}
    for name, child in node.get("properties", {}).items():
        keys[prefix + name] = child
        keys |= _schema_keys(child, schema, f"{prefix}{name}.")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and prefix:
        keys |= _schema_keys(extra, schema, prefix + "*.")
    items = node.get("items")
    if isinstance(items, dict):
        keys |= _schema_keys(items, schema, prefix.rstrip(".") + "[].")
    return keys


def _table_rows(markdown: str) -> dict[str, str]:
    """Key -> its table row, for every row of the reference that starts with a key in code."""
    return {match.group(1): match.group(0) for match in re.finditer(r"^\| `([^`]+)` \|.*$", markdown, flags=re.M)}


def test_the_configuration_reference_names_every_schema_key_with_its_default():
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text(encoding="utf-8"))
    keys = _schema_keys(schema, schema)
    rows = _table_rows(_hook().config_reference_markdown())
    assert len(keys) > 150  # the walk above reached the nested blocks (models.*, baselines.api.*, ...)
    missing = sorted(set(keys) - set(rows))
    assert not missing, f"keys of the schema missing from the configuration reference: {missing}"
    for key, node in keys.items():
        if "default" in node and not (node.get("properties") and node["default"] == {}):
            shown = json.dumps(node["default"], ensure_ascii=False)
            assert f"`{shown}`" in rows[key] or "see below" in rows[key], (key, rows[key])


def test_the_configuration_reference_follows_a_schema_edit(tmp_path):
    """A key added to the schema appears in the reference with its type, default, bounds and description."""
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text(encoding="utf-8"))
    schema["properties"]["scoring"]["properties"]["new_key_s"] = {
        "type": "number",
        "minimum": 2,
        "default": 7.5,
        "description": "a key added by the test",
    }
    edited = tmp_path / "schema.yaml"
    edited.write_text(yaml.safe_dump(schema), encoding="utf-8")
    row = _table_rows(_hook().config_reference_markdown(edited))["scoring.new_key_s"]
    assert row == "| `scoring.new_key_s` | number | `7.5` | ≥ 2 | a key added by the test |"


def test_every_rule_of_the_committed_rule_graph_exists():
    """docs/rulegraph.svg is generated (snakemake --rulegraph | dot -Tsvg); a renamed or removed rule
    makes it stale. Graphviz writes each node's label as the text of its box."""
    graph = (DOCS / "rulegraph.svg").read_text(encoding="utf-8")
    named = set(re.findall(r"<text\b[^>]*>(\w+)</text>", graph))
    sources = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    defined = set()
    for path in sources:
        defined |= set(re.findall(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", path.read_text(encoding="utf-8"), re.M))
    assert {"all", "sft", "score", "dpo_round"} <= named
    assert named <= defined, f"rules in docs/rulegraph.svg that no rule file defines: {sorted(named - defined)}"


def _nav_pages(entries) -> list[str]:
    pages = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_of_the_navigation_exists_and_every_page_is_in_it():
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_MkDocsLoader)
    pages = _nav_pages(config["nav"])
    generated = {_hook().CONFIG_REFERENCE_PAGE}
    assert [page for page in pages if not (DOCS / page).is_file() and page not in generated] == []
    written = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md") if "hooks" not in path.parts}
    assert sorted(written - set(pages)) == []


def test_every_generated_section_a_page_names_is_known():
    hook = _hook()
    names = [m.group(1) for path in DOCS.rglob("*.md") for m in hook.MARKER.finditer(path.read_text(encoding="utf-8"))]
    assert "measured-rates" in names and "benchmark-results" in names
    kinds = {name.split()[0] for name in names}
    assert kinds <= {"measured-rates", "cost-model", "benchmark-results"}
    with pytest.raises(ValueError, match="unknown generated section 'typo'"):
        hook.generated_section("typo")


def test_the_measured_rates_table_holds_every_rate_the_cost_model_reads():
    from alloypref.measured_rates import MeasuredRates

    table = _hook().measured_rates_markdown()
    for name, value in vars(MeasuredRates()).items():
        assert f"| `MeasuredRates.{name}` | {value} |" in table


def test_benchmark_outputs_are_rendered_from_their_files(tmp_path):
    hook = _hook()
    assert "No benchmark output is committed" in hook.benchmark_results_markdown(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"plain_sft": {"examples_per_s": 43.81234}}), encoding="utf-8")
    assert "| `plain_sft` | examples_per_s 43.81 |" in hook.benchmark_results_markdown(tmp_path)


def test_readme_is_a_front_page_whose_links_resolve():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert "docs/install.md" in local
    assert [target for target in local if not (REPO / target).exists()] == []
