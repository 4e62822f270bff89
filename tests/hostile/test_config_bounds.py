"""Numbers that break meaning: the schema bounds every config number by what it means, and a generic
property test walks every key of the schema with values of the wrong type, out of range and at the
edges: each bad value is refused with the key path named, each valid edge is accepted."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys

import pytest

from alloypref import config as config_module
from alloypref.cli import main
from alloypref.config_schema import config_schema

from ..helpers import REPO

SCHEMA = config_schema()

# ---------------------------------------------------------------------------------------------------
# The named instances of the issue


SPECIFIC = [
    ({"seed": -1}, "seed"),
    ({"seed": 2**32}, "seed"),
    ({"seed": 42.0}, "seed"),
    ({"scoring": {"shards": 2.0}}, "scoring.shards"),
    ({"scoring": {"shards": 10**9}}, "scoring.shards"),
    ({"scoring": {"workers": -4}}, "scoring.workers"),
    ({"cross_database": {"seed": -1}}, "cross_database.seed"),
    ({"reward": {"weight_bcc_b2_exist": 1e308}}, "reward.weight_bcc_b2_exist"),  # was reward -inf, status ok
    ({"reward": {"weight_others_exceed": -5}}, "reward.weight_others_exceed"),  # ranked a failing row first
    ({"reward": {"weight_bcc_forms_first": 5000}}, "reward.weight_bcc_b2_exist"),  # tier 2 above tier 1
    ({"reward": {"weight_b2_room_temp": 1, "weight_others_exceed": 1}}, "reward.weight_b2_room_temp"),
    ({"calphad": {"temperatures_K": [373.15, 50000]}}, "calphad.temperatures_K.1"),  # was "solid"
    ({"calphad": {"temperatures_K": [100, 1273.15]}}, "calphad.temperatures_K.0"),
    ({"design_space": {"filter": {"temperatures_K": [7000]}}}, "design_space.filter.temperatures_K.0"),
]


@pytest.mark.parametrize("override, key", SPECIFIC, ids=[f"{k}-{i}" for i, (_, k) in enumerate(SPECIFIC)])
def test_meaningless_number_is_refused(override, key):
    with pytest.raises(config_module.ConfigError, match=f"^config key {re.escape(key)}:"):
        config_module.load(None, override)


def test_tier_error_names_every_key_of_the_comparison():
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.load(None, {"reward": {"weight_bcc_forms_first": 5000}})
    for key in ("weight_bcc_b2_exist", "weight_bcc_forms_first", "weight_b2_room_temp", "weight_others_exceed"):
        assert f"reward.{key}" in str(caught.value)


def test_ordered_tiers_and_the_temperature_range_edges_are_accepted():
    cfg = config_module.load(
        None,
        {
            "reward": {
                "weight_bcc_b2_exist": 1e6,
                "weight_bcc_forms_first": 2.5,
                "weight_b2_room_temp": 1.0,
                "weight_others_exceed": 0,
            },
            "calphad": {"temperatures_K": [298.15, 6000]},
            "seed": 2**32 - 1,
        },
    )
    assert cfg["reward"]["weight_bcc_forms_first"] == 2.5
    assert cfg["calphad"]["temperatures_K"] == [298.15, 6000]


def test_workflow_check_refuses_a_float_shard_count():
    """The Snakefile validates with Snakemake's validator (2.0 passes as an integer there) and then
    calls ``check_values``, which must refuse it."""
    cfg = config_module.load(None, {})
    cfg["scoring"]["shards"] = 2.0
    with pytest.raises(config_module.ConfigError, match="^config key scoring.shards:"):
        config_module.check_values(cfg)


@pytest.mark.parametrize(
    "counts, message",
    [
        ({"score": 1025}, "--set-scatter score=1025: sets config key scoring.shards, an integer from 1 to 1024"),
        ({"score": 0}, "--set-scatter score=0: sets config key scoring.shards"),
        ({"curate": 5000}, "--set-scatter curate=5000: sets config key design_space.filter.shards"),
        ({"score": True}, "--set-scatter score=True"),
        ({"scores": 2}, "--set-scatter scores=2: no such scatter; the workflow has ['curate', 'score']"),
    ],
)
def test_set_scatter_counts_are_bounded_by_their_config_keys(counts, message):
    with pytest.raises(config_module.ConfigError, match=re.escape(message)):
        config_module.check_scatter(counts)


def test_set_scatter_counts_at_the_bounds_are_accepted():
    config_module.check_scatter({"score": 1, "curate": 1024})


@pytest.mark.workflow
@pytest.mark.parametrize(
    "setting, message",
    [
        ("scoring={shards: 2.0}", "config key scoring.shards: 2.0 is not of type 'integer'"),
        ("seed=-1", "-1 is less than the minimum of 0"),
        ("reward={weight_bcc_forms_first: 5000}", "config key reward.weight_bcc_b2_exist: 1000 must exceed"),
    ],
    ids=["float-shards", "negative-seed", "tiers"],
)
def test_workflow_refuses_meaningless_numbers(setting, message):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "tests/config/config.yaml", "--config", setting],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize("cores", ["-4", "0", "2.5", "many"])
def test_cost_model_refuses_a_core_count_that_is_not_a_positive_integer(cores, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["cost-model", "--config", "config/config.yaml", "--cores", cores])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--cores" in err and cores in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------
# The generic property test: every key of the schema


def resolve(node: dict) -> dict:
    """``node`` with a local ``$ref`` merged in (the node's own keywords win)."""
    if "$ref" not in node:
        return node
    target = SCHEMA
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**resolve(target), **{k: v for k, v in node.items() if k != "$ref"}}


def schema_keys(node: dict, path: tuple = ()):
    """Every (path, subschema) of the schema; ``*`` stands for a name of a mapping of named entries
    and ``0`` for an array's first item."""
    node = resolve(node)
    if path:
        yield path, node
    for name, child in node.get("properties", {}).items():
        yield from schema_keys(child, (*path, name))
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_keys(node["additionalProperties"], (*path, "*"))
    if isinstance(node.get("items"), dict):
        yield from schema_keys(node["items"], (*path, 0))


#: The name a ``*`` takes under each mapping of named entries, and the entry it starts from.
NAMED_ENTRIES = {
    ("models",): ("tiny", {"source": "tiny"}),
    ("baselines", "api"): ("chat", {"base_url": "http://localhost:1/v1", "model": "m", "method": "one_shot", "n": 1}),
    ("baselines", "external"): ("outside", "outside.csv"),
    ("calphad", "databases", 0, "phase_roles"): ("BCC_A2", "bcc_like"),
    ("report_card", "structures"): ("mc_ni", {}),
    ("report_card", "structures", "*"): ("FCC_A1", "FCC"),
}

#: A valid list for array keys whose default is null or empty (their first item gets the value tested).
ARRAYS = {
    ("calphad", "temperatures_K"): [373.15, 1273.15],
    ("design_space", "elements"): ["Ni", "Al", "Fe"],
    ("grpo", "models"): ["tiny"],
    ("calphad", "databases", 0, "patches"): [],
    ("models", "*", "lora", "target_modules"): ["q_proj"],
}


def concrete(path: tuple) -> tuple:
    """``path`` with every ``*`` replaced by the entry name it takes."""
    return tuple(NAMED_ENTRIES[path[:i]][0] if part == "*" else part for i, part in enumerate(path))


def default_at(path: tuple):
    node: dict = SCHEMA
    for part in path:
        node = resolve(node)
        node = node["additionalProperties"] if part == "*" else node["items"] if part == 0 else node["properties"][part]
    return copy.deepcopy(resolve(node).get("default"))


def config_with(path: tuple, value) -> dict:
    """A config that is the defaults except ``value`` at the schema key ``path``."""
    config: dict = {}
    container = config
    for depth, part in enumerate(path[:-1]):
        schema_path = path[: depth + 1]
        key = NAMED_ENTRIES[path[:depth]][0] if part == "*" else part
        if key not in container if isinstance(container, dict) else key >= len(container):
            if part == "*":
                child = copy.deepcopy(NAMED_ENTRIES[path[:depth]][1])
            elif schema_path in ARRAYS:
                child = copy.deepcopy(ARRAYS[schema_path])
            else:
                child = default_at(schema_path)
                if child is None or child == []:
                    child = {} if resolve_type(schema_path) == "object" else []
            container[key] = child
        container = container[key]
    last = path[-1]
    if last == "*":
        last = NAMED_ENTRIES[path[:-1]][0]
    if last == 0 and not container:
        container.append(value)
    else:
        container[last] = value
    return config


def resolve_type(path: tuple) -> str:
    node: dict = SCHEMA
    for part in path:
        node = resolve(node)
        node = node["additionalProperties"] if part == "*" else node["items"] if part == 0 else node["properties"][part]
    types = resolve(node).get("type", "object")
    return types if isinstance(types, str) else next(t for t in types if t != "null")


SAMPLES = {
    "string": "text",
    "integer": 3,
    "number": 2.5,
    "boolean": True,
    "null": None,
    "array": [1],
    "object": {"a": 1},
}


def allowed(types: list[str], value) -> bool:
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return "integer" in types or "number" in types
    if isinstance(value, float):
        return "number" in types
    kind = {str: "string", type(None): "null", list: "array", dict: "object"}[type(value)]
    return kind in types


def bad_values(node: dict) -> list:
    """Values the key ``node`` must refuse: of the wrong type, out of its range or its choices."""
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    values: list = []
    if types:
        values += [v for v in SAMPLES.values() if not allowed(types, v)]
    if "integer" in types:
        values += [2.0, "2"]
    if "number" in types:
        values += [math.nan, math.inf, -math.inf]
    for bound, step in (("minimum", -1), ("maximum", 1)):
        if bound in node:
            edge = node[bound]
            values.append(edge + step if "integer" in types else math.nextafter(edge, step * math.inf))
    if "exclusiveMinimum" in node:
        values.append(node["exclusiveMinimum"])
    if "exclusiveMaximum" in node:
        values.append(node["exclusiveMaximum"])
    if "enum" in node:
        values.append("not-a-choice")
    if "pattern" in node:
        values.append("not a name!")
    if "minItems" in node:
        values.append([])
    if "minLength" in node:
        values.append("")
    return values


def edge_values(node: dict) -> list:
    """Values at the edges of the key's range, which it must accept."""
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    values = [node[b] for b in ("minimum", "maximum") if b in node]
    if "exclusiveMinimum" in node:
        values.append(math.nextafter(node["exclusiveMinimum"], math.inf))
    if "exclusiveMaximum" in node:
        values.append(math.nextafter(node["exclusiveMaximum"], -math.inf))
    if "integer" in types:
        values = [v for v in values if float(v).is_integer()]
    return values


KEYS = list(schema_keys(SCHEMA))
BAD = [(path, value) for path, node in KEYS for value in bad_values(node)]
EDGES = [(path, value) for path, node in KEYS for value in edge_values(node)]

#: Tier weights whose schema edge is refused by the loader's cross-field rule (Eq. 1's order): the
#: top tier cannot be 0, and the lower ones cannot reach 1e6 (each tier must stay below the one above).
TIER_RULE = {
    (("reward", "weight_bcc_b2_exist"), 0),
    (("reward", "weight_bcc_forms_first"), 0),
    (("reward", "weight_bcc_forms_first"), 1_000_000),
    (("reward", "weight_b2_room_temp"), 0),
    (("reward", "weight_b2_room_temp"), 1_000_000),
    (("reward", "weight_others_exceed"), 1_000_000),
}


def test_every_number_has_a_lower_bound_and_counts_an_upper_one():
    """An unbounded-below number is a weight, size or time whose negative breaks meaning; a count of
    jobs, processes or seeds without an upper bound asks for unbounded work."""
    unbounded = []
    for path, node in KEYS:
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if ("number" in types or "integer" in types) and "minimum" not in node and "exclusiveMinimum" not in node:
            unbounded.append(".".join(map(str, path)))
        if path[-1] in ("seed", "shards", "workers", "scorer_workers", "threads") and "maximum" not in node:
            unbounded.append(".".join(map(str, path)) + " (no maximum)")
    assert unbounded == []


def test_the_walk_covers_the_whole_schema():
    """The generic tests below see nested, named-entry and array-item keys, not only the top level."""
    names = {".".join(map(str, path)) for path, _ in KEYS}
    for key in (
        "seed",
        "models.*.threads",
        "models.*.lora.dropout",
        "models.*.sft.learning_rate",
        "baselines.api.*.timeout_s",
        "calphad.databases.0.phase_roles.*",
        "calphad.temperatures_K.0",
        "report_card.structures.*.*",
        "grpo.weights.mismatch",
    ):
        assert key in names
    assert len(BAD) > 400 and len(EDGES) > 100


@pytest.mark.parametrize("path, value", BAD, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in BAD])
def test_every_key_refuses_wrong_types_and_out_of_range_values(path, value):
    key = ".".join(map(str, concrete(path)))
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.load(None, config_with(path, value))
    message = str(caught.value)
    # The named key is the one given the value, or (a value of the wrong type for a mapping or list)
    # the item inside it that the schema reports.
    named = re.match(r"config key (\S+):", message)
    assert named, message
    assert named.group(1) == key or named.group(1).startswith(key + "."), message


@pytest.mark.parametrize("path, value", EDGES, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in EDGES])
def test_every_key_accepts_its_edge_values(path, value):
    key = ".".join(map(str, concrete(path)))
    if (path, value) in TIER_RULE:
        with pytest.raises(config_module.ConfigError, match="^config key reward[.]weight_.* must exceed") as caught:
            config_module.load(None, config_with(path, value))
        assert key in str(caught.value)
        return
    cfg = config_module.load(None, config_with(path, value))
    node = cfg
    for part in concrete(path):
        node = node[part]
    assert node == value
