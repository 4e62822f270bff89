"""Configuration: load, validate against the JSON schema (filling defaults), build typed settings.

The schema lives in ``config/schemas/config.schema.yaml`` of the workflow and is shipped inside the
package too, so the command line and the workflow validate identically.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from alloypref.calphad.backend import DEFAULT_TEMPERATURES_K
from alloypref.calphad.databases import B2Formers, DatabaseSpec
from alloypref.reward import RewardConfig


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


def schema() -> dict:
    """The JSON schema (as a dict) shipped with the package."""
    text = resources.files("alloypref.data").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def validate(config: Mapping[str, Any]) -> dict:
    """Validate a config dict and return a copy with every default filled in.

    Raises:
        ConfigError: naming the offending key path (``calphad.pycalphad.pdens``) and the problem.
    """
    filled = copy.deepcopy(dict(config))
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"config key {key}: {error.message}")
    # A second pass: defaults filled inside defaults (nested objects) are validated too.
    for error in validator.iter_errors(filled):
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"config key {key}: {error.message}")
    return filled


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """Read a YAML config (or none: every default), apply top-level overrides, validate."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: top level must be a mapping")
    data.update(overrides or {})
    return validate(data)


@dataclass(frozen=True)
class CalphadSettings:
    """Everything the scorer needs, typed. A job that only builds the backend (the design-space
    enumeration and filter) is given the ``calphad`` block without the scoring keys
    (``temperatures_K``, ``timeout_s``, ``min_coverage``) and no ``reward``: those fields are None."""

    backend: str
    temperatures_K: tuple[float, ...] | None
    databases: tuple[DatabaseSpec, ...]
    b2_formers: B2Formers
    min_coverage: float | None
    timeout_s: float | None
    cache_dir: Path
    pycalphad: dict
    thermocalc_database: str
    reward: RewardConfig | None


def calphad_settings(config: Mapping[str, Any]) -> CalphadSettings:
    """Typed scorer settings from a validated config (or the blocks of it a job was given)."""
    cal = config["calphad"]
    roles = config["element_roles"]
    temperatures = None
    if "temperatures_K" in cal:
        temperatures = tuple(sorted(float(t) for t in (cal["temperatures_K"] or DEFAULT_TEMPERATURES_K)))
    names = [db["name"] for db in cal["databases"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"config key calphad.databases: database names repeat: {names}")
    return CalphadSettings(
        backend=cal["backend"],
        temperatures_K=temperatures,
        databases=tuple(
            DatabaseSpec(db["name"], db["path"], dict(db.get("phase_roles", {})), bool(db.get("strip_refs", False)))
            for db in cal["databases"]
        ),
        b2_formers=B2Formers(
            frozenset(roles["b2_a_site"]), frozenset(roles["b2_b_site"]), frozenset(roles["b2_either_site"])
        ),
        min_coverage=float(cal["min_coverage"]) if "min_coverage" in cal else None,
        timeout_s=float(cal["timeout_s"]) if "timeout_s" in cal else None,
        cache_dir=Path(cal["cache_dir"]),
        pycalphad=dict(cal["pycalphad"]),
        thermocalc_database=cal["thermocalc_database"],
        reward=RewardConfig(**config["reward"]) if "reward" in config else None,
    )
