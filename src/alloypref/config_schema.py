"""The config's JSON schema, shipped with the package, and the defaults it holds.

The schema is the one home of every config default: :func:`alloypref.config.validate` fills them
into a config, and the settings dataclasses (``RewardSettings``, ``ScoringSettings``,
``GRPOSettings``, ``ReportCardSettings``) read theirs from here with :func:`schema_default`, so a
dataclass built without arguments is the default run's. The source is
``config/schemas/config.schema.yaml`` of the workflow; ``alloypref/data/config.schema.yaml`` links to
it. This module imports nothing of the package, so any module may use it.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def _schema() -> dict:
    return yaml.safe_load(resources.files("alloypref.data").joinpath("config.schema.yaml").read_text(encoding="utf-8"))


def config_schema() -> dict:
    """The JSON schema as a dict (a copy: the caller may change it)."""
    return copy.deepcopy(_schema())


def schema_node(key: str) -> dict:
    """The schema of the dotted config key ``key`` (a copy; ``*`` as in :func:`schema_default`).

    Raises:
        KeyError: naming the key, when the schema has no such key.
    """
    node = _schema()
    for part in key.split("."):
        node = _resolved(node)
        node = node.get("additionalProperties") if part == "*" else node.get("properties", {}).get(part)
        if not isinstance(node, dict):
            raise KeyError(f"the config schema has no key {key}")
    return copy.deepcopy(_resolved(node))


def _resolved(node: dict) -> dict:
    """``node`` with the keys of the local definition its ``$ref`` names merged in (the node's own
    keys win; the two nodes' ``properties`` are merged)."""
    if "$ref" not in node:
        return node
    target = _schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    target = _resolved(target)
    merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "properties" in target and "properties" in node:
        merged["properties"] = {**target["properties"], **node["properties"]}
    return merged


def schema_default(key: str) -> Any:
    """The schema's default of the dotted config key ``key`` (``reward.mismatch_cap``), a copy; ``*``
    stands for any name of a mapping of named entries (``models.*.threads``).

    Raises:
        KeyError: naming the key, when the schema has no such key or it has no default.
    """
    node = schema_node(key)
    if "default" not in node:
        raise KeyError(f"config key {key} has no default in the config schema")
    return node["default"]
