"""Configuration: load, validate against the JSON schema (filling defaults), build typed settings.

The schema lives in ``config/schemas/config.schema.yaml`` of the workflow and is shipped inside the
package too, so the command line and the workflow validate identically.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from alloypref.calphad.backend import DEFAULT_TEMPERATURES_K
from alloypref.calphad.databases import B2Formers, DatabaseSettings
from alloypref.calphad.trust import TrustSettings
from alloypref.config_schema import config_schema, schema_node
from alloypref.reward import RewardSettings
from alloypref.sources import SourceNameError, check_source_names


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


#: The most values (scalars, lists and mappings) a config may hold with every YAML alias expanded.
#: The default config holds 372 (config/paper.yaml 570); a billion-laughs document of a few hundred bytes holds 10^9
#: and would stall validation, whose error messages format the value.
MAX_CONFIG_VALUES = 100_000

#: The most characters of a value an error message shows.
MAX_SHOWN_CHARS = 200


def expanded_size(root: Any, limit: int = MAX_CONFIG_VALUES) -> float:
    """How many values ``root`` holds when every shared list or mapping counts each time it is
    referred to (as YAML aliases expand): a YAML node graph or Python lists and dicts. Stops
    counting above ``limit``; ``inf`` for a value that contains itself. Linear in the distinct values."""
    sizes: dict[int, float] = {}
    expanded: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        children = _children(node)
        if id(node) not in expanded:
            expanded.add(id(node))
            pending = [c for c in children if _children(c) and id(c) not in sizes]
            if any(id(c) in expanded for c in pending):  # an ancestor still being counted: a cycle
                return math.inf
            stack.extend(pending)
            continue
        stack.pop()
        if id(node) not in sizes:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[id(node)] > limit:
                return sizes[id(node)]
    return sizes.get(id(root), 1)


def _children(value: Any) -> list:
    if isinstance(value, yaml.MappingNode):
        return [item for pair in value.value for item in pair]
    if isinstance(value, yaml.SequenceNode):
        return list(value.value)
    if isinstance(value, Mapping):
        return [item for pair in value.items() for item in pair]
    if isinstance(value, list | tuple):
        return list(value)
    return []


def shown(value: Any) -> str:
    """``value`` for an error message: its repr, cut to :data:`MAX_SHOWN_CHARS` characters (a huge
    value must not make a huge message)."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = MAX_SHOWN_CHARS // 2
    short = shortener.repr(value)
    return short if len(short) <= MAX_SHOWN_CHARS else short[: MAX_SHOWN_CHARS - 3] + "..."


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key repeated in one mapping is an error (PyYAML keeps the
    last) and a document holding more than :data:`MAX_CONFIG_VALUES` values with its aliases (and
    merge keys) expanded is refused before it is built."""

    def compose_document(self):
        node = super().compose_document()
        size = expanded_size(node)
        if size > MAX_CONFIG_VALUES:
            raise ConfigError(
                f"config file {self.name}: holds more than {MAX_CONFIG_VALUES:,} values once its YAML aliases are expanded "
                f"({'it contains itself' if math.isinf(size) else 'an alias bomb'}); write the values out instead"
            )
        return node

    def construct_mapping(self, node, deep=False):
        first_line: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first_line:
                    raise ConfigError(
                        f"{key_node.start_mark.name}, line {line}: key {key!r} repeats (first on line "
                        f"{first_line[key]}); YAML would silently keep only the last"
                    )
                first_line[key] = line
            except TypeError:  # an unhashable key: PyYAML's own constructor reports it
                pass
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> dict:
    """A YAML config file as a dict; repeated keys, a non-mapping top level or bad YAML name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_loader_for(path)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping")
    return data


def _loader_for(path: Path):
    """A strict loader whose error marks carry the file's path (PyYAML names a string stream ``<unicode string>``)."""

    class Loader(_StrictLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self.name = str(path)

    return Loader


def check_yaml_files(paths: Iterable[str | Path]) -> None:
    """Load each config file strictly (the workflow's config loader keeps the last of repeated keys)."""
    for path in paths:
        load_yaml(path)


def schema() -> dict:
    """The JSON schema (as a dict) shipped with the package (:mod:`alloypref.config_schema`)."""
    return config_schema()


def _strict_integers(validator_class):
    """JSON schema counts ``2.0`` as an integer; a config's counts and seeds must be written as integers."""
    type_checker = validator_class.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(validator_class, type_checker=type_checker)


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
    size = expanded_size(config)
    if size > MAX_CONFIG_VALUES:
        raise ConfigError(
            f"config (top level): holds more than {MAX_CONFIG_VALUES:,} values with shared lists and mappings "
            "counted each time they are referred to"
        )
    filled = copy.deepcopy(dict(config))
    validator = _with_defaults(_strict_integers(jsonschema.Draft202012Validator))(schema())
    _raise_first(validator.iter_errors(filled))
    # A second pass: defaults filled inside defaults (nested objects) are validated too.
    _raise_first(validator.iter_errors(filled))
    check_values(filled)
    return filled


def _raise_first(errors: Iterable[jsonschema.ValidationError]) -> None:
    errors = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"config key {key}: {_message(error)}")


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message with the value it starts with cut short (it formats the whole value)."""
    whole = repr(error.instance)
    if error.message.startswith(whole) and len(whole) > MAX_SHOWN_CHARS:
        return shown(error.instance) + error.message[len(whole) :]
    return error.message if len(error.message) <= 2 * MAX_SHOWN_CHARS else error.message[: 2 * MAX_SHOWN_CHARS] + "..."


def _check_strict_types(config: Mapping[str, Any]) -> None:
    """The schema once more with integers strict: the workflow validates with Snakemake's validator,
    which takes ``2.0`` for an integer. Defaults are not filled (the config is already complete)."""
    _raise_first(_strict_integers(jsonschema.Draft202012Validator)(schema()).iter_errors(config))


#: The rule weights of Eq. 1, highest tier first.
TIER_WEIGHTS = ("weight_bcc_b2_exist", "weight_bcc_forms_first", "weight_b2_room_temp", "weight_others_exceed")


def _check_reward_tiers(reward: Mapping[str, Any]) -> None:
    """Eq. 1 is hierarchical: failing a rule must cost more than failing every rule below it, so each
    weight must exceed the sum of the weights below it (1000 > 100 + 10 + 1, 100 > 10 + 1, 10 > 1).
    The mismatch term is not a tier: it only orders candidates that pass and fail the same rules."""
    if not all(key in reward for key in TIER_WEIGHTS):
        return
    for index, key in enumerate(TIER_WEIGHTS[:-1]):
        below = TIER_WEIGHTS[index + 1 :]
        if not reward[key] > sum(reward[k] for k in below):
            terms = " + ".join(f"reward.{k} ({reward[k]:g})" for k in below)
            raise ConfigError(
                f"config key reward.{key}: {reward[key]:g} must exceed {terms}, or Eq. 1's tiers are out of order "
                "(a candidate failing this rule could outrank one failing only lower rules)"
            )


def check_values(config: Mapping[str, Any]) -> None:
    """What JSON schema cannot say: every number finite, integers written as integers (``2.0`` is
    not a shard count), Eq. 1's rule weights in tier order, a temperature grid the rules can use, GRPO
    only for configured models, and no source name chosen twice (:func:`alloypref.sources.check_source_names`).

    YAML's ``.nan`` and ``.inf`` are numbers to JSON schema; a NaN reward weight makes every reward
    NaN. Reward rule 2 (BCC forms before B2 on cooling) compares the highest temperatures of BCC and
    B2, so a grid of fewer than two distinct temperatures can never satisfy it.

    Raises:
        ConfigError: naming the key.
    """
    for key, value in _leaves(config):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config key {key}: {value} is not a finite number")
    _check_strict_types(config)
    _check_reward_tiers(config.get("reward") or {})
    unknown = [m for m in (config.get("grpo") or {}).get("models", []) if m not in (config.get("models") or {})]
    if unknown:
        raise ConfigError(f"config key grpo.models: {unknown} are not models (keys of models:)")
    _check_gguf_models(config.get("models") or {})
    grid = (config.get("calphad") or {}).get("temperatures_K")
    if grid is not None and len(set(grid)) < 2:
        raise ConfigError(
            f"config key calphad.temperatures_K: {len(set(grid))} distinct temperature(s); reward rule 2 "
            "(BCC forms before B2) needs at least two"
        )
    if "results_dir" in config:
        check_results_dir(config["results_dir"])
    try:
        check_source_names(config)
    except SourceNameError as exc:
        raise ConfigError(str(exc)) from None


#: The config key behind each ``scattergather`` name of the workflow (rules/common_names.smk).
SCATTER_KEYS = {"score": "scoring.shards", "curate": "design_space.filter.shards"}


def check_scatter(counts: Mapping[str, Any]) -> None:
    """Shard counts given on the command line (``snakemake --set-scatter score=N``) within the bounds
    the schema sets for their config keys: Snakemake takes that option over the validated config.

    Raises:
        ConfigError: naming the option and the config key.
    """
    for name, count in counts.items():
        if name not in SCATTER_KEYS:
            raise ConfigError(f"--set-scatter {name}={count}: no such scatter; the workflow has {sorted(SCATTER_KEYS)}")
        key = SCATTER_KEYS[name]
        node = schema_node(key)
        low, high = node["minimum"], node["maximum"]
        if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
            raise ConfigError(
                f"--set-scatter {name}={count}: sets config key {key}, an integer from {low} to {high} "
                f"({node.get('description', '')})"
            )


def _check_gguf_models(models: Mapping[str, Any]) -> None:
    """A ``source: gguf`` model names a pinned pretrained model, and only such a model sets ``pretrained``
    or ``gguf_path``."""
    from alloypref.lm.gguf_model import PINNED

    for name, entry in models.items():
        if entry.get("source") != "gguf":
            for key in ("pretrained", "gguf_path"):
                if entry.get(key) is not None:
                    raise ConfigError(f"config key models.{name}.{key}: only a model of source gguf has one")
            continue
        pretrained = entry.get("pretrained")
        if pretrained not in PINNED:
            raise ConfigError(
                f"config key models.{name}.pretrained: {pretrained!r} is not a pinned pretrained model "
                f"(alloypref.lm.gguf_model.PINNED: {', '.join(sorted(PINNED))})"
            )


#: The most jobs a config may cut one scoring or filter step into: the schema's maximum of every shard
#: count (Snakemake plans every shard before any job runs, and a cluster array of more jobs waits in
#: the queue longer than it computes; the paper's scale uses 32).
MAX_SHARDS = schema_node("scoring.shards")["maximum"]


#: The package's folder and the repository of this code (its root holds ``src/``, ``rules/`` and
#: ``workflow_scripts/`` in a checkout; in an installed package those do not exist).
PACKAGE_DIR = Path(__file__).resolve().parent
CODE_ROOT = PACKAGE_DIR.parents[1]
CODE_FOLDERS = ("src", "rules", "workflow_scripts")


def check_results_dir(value: Any, cwd: str | Path | None = None) -> Path:
    """The results root ``value`` (relative to ``cwd``, by default the working directory) resolved,
    when outputs may go there: not empty, not the filesystem root, not inside the package's folder
    nor inside the code folders (``src/``, ``rules/``, ``workflow_scripts/``) of this checkout.

    Raises:
        ConfigError: naming ``results_dir``, the value and what it would overwrite.
    """
    if not isinstance(value, str) or not value.strip() or not value.strip("/"):
        raise ConfigError(
            f"config key results_dir: {value!r} would put outputs at the filesystem root or nowhere; "
            "name a folder (default: results)"
        )
    where = (Path(cwd) if cwd is not None else Path.cwd()) / Path(value).expanduser()
    resolved = where.resolve()
    forbidden = [(PACKAGE_DIR, "the alloypref package")] + [
        (CODE_ROOT / f, f"the code folder {f}/") for f in CODE_FOLDERS
    ]
    for folder, what in forbidden:
        if resolved == folder or folder in resolved.parents:
            raise ConfigError(
                f"config key results_dir: {value!r} ({resolved}) lies in {what}; outputs would overwrite code"
            )
    if resolved == Path(resolved.anchor):
        raise ConfigError(f"config key results_dir: {value!r} is the filesystem root")
    return resolved


def _leaves(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from _leaves(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{key}.{index}")
    else:
        yield key, value


def typed_command_line_values(values: Mapping[str, Any]) -> dict:
    """Snakemake's ``--config key=value`` values with the scalars inside a mapping or list typed as YAML types them.

    Snakemake reads a value like ``grpo={steps: 3}`` with YAML's base loader, which leaves every
    nested scalar a string (``'3'``), so the schema would refuse a number given that way. Top-level
    values are already typed by Snakemake (int, float, bool, else string) and are kept as they are;
    a nested string that YAML would read as a mapping or list (``'a: b'``) stays a string.

    Raises:
        ConfigError: the values hold more than :data:`MAX_CONFIG_VALUES` values with YAML aliases
            expanded (checked before the workflow's schema validation formats them).
    """
    if expanded_size(values) > MAX_CONFIG_VALUES:
        raise ConfigError(
            f"--config values: hold more than {MAX_CONFIG_VALUES:,} values once their YAML aliases are expanded"
        )

    def typed(value: Any, nested: bool) -> Any:
        if isinstance(value, Mapping):
            return {key: typed(item, True) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [typed(item, True) for item in value]
        if nested and isinstance(value, str) and value:
            parsed = yaml.safe_load(value)
            return parsed if not isinstance(parsed, dict | list) else value
        return value

    return {key: typed(value, False) for key, value in values.items()}


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """Read a YAML config (or none: every default), apply top-level overrides, validate."""
    data: dict = load_yaml(path) if path is not None else {}
    data.update(overrides or {})
    return validate(data)


@dataclass(frozen=True)
class CalphadSettings:
    """Everything the scorer needs, typed. A job that only builds the backend (the design-space
    enumeration and filter) is given the ``calphad`` block without the scoring keys
    (``temperatures_K``, ``timeout_s``, ``min_coverage``, ``database_aggregate``, ``trust``) and no
    ``reward``: those fields are None."""

    backend: str
    temperatures_K: tuple[float, ...] | None
    databases: tuple[DatabaseSettings, ...]
    b2_formers: B2Formers
    min_coverage: float | None
    database_aggregate: str | None
    trust: TrustSettings | None
    order_threshold: float
    timeout_s: float | None
    cache_dir: Path
    pycalphad: dict
    thermocalc_database: str
    reward: RewardSettings | None


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
            DatabaseSettings(
                db["name"],
                db["path"],
                dict(db.get("phase_roles", {})),
                bool(db.get("strip_refs", False)),
                None if db.get("patches") is None else tuple(db["patches"]),
            )
            for db in cal["databases"]
        ),
        b2_formers=B2Formers(
            frozenset(roles["b2_a_site"]), frozenset(roles["b2_b_site"]), frozenset(roles["b2_either_site"])
        ),
        min_coverage=float(cal["min_coverage"]) if "min_coverage" in cal else None,
        database_aggregate=cal.get("database_aggregate"),
        trust=TrustSettings.from_config(cal["trust"]) if "trust" in cal else None,
        order_threshold=float(cal["order_threshold"]),
        timeout_s=float(cal["timeout_s"]) if "timeout_s" in cal else None,
        cache_dir=Path(cal["cache_dir"]),
        pycalphad=dict(cal["pycalphad"]),
        thermocalc_database=cal["thermocalc_database"],
        reward=RewardSettings(**config["reward"]) if "reward" in config else None,
    )
