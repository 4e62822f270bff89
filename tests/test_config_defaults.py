"""The config schema is the one home of defaults: every settings dataclass built without arguments
equals the one the workflow builds from the validated empty config (the default run), key by key."""

import copy
import dataclasses

import pytest

from alloypref import config as config_module
from alloypref import measured_rates
from alloypref.calphad.ordering import DEFAULT_ORDER_THRESHOLD
from alloypref.calphad.pycalphad_backend import PycalphadSettings
from alloypref.calphad.report_card import ReportCardSettings, report_card_settings
from alloypref.config_schema import schema_default
from alloypref.design_space import VolumeSettings
from alloypref.lm.grpo import GRPOSettings
from alloypref.lm.registry import ModelSettings
from alloypref.reward import RewardSettings
from alloypref.scoring import ScoringSettings

DEFAULT_RUN = config_module.load(None)


def schema_keys_with_defaults(block):
    """Dotted keys under ``block`` whose schema entry has a default and no properties of its own."""
    node = config_module.schema()
    for part in block.split("."):
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
    keys = []
    for name, entry in node["properties"].items():
        if "properties" in entry:
            keys += [f"{name}.{key}" for key in schema_keys_with_defaults(f"{block}.{name}")]
        elif "default" in entry:
            keys.append(name)
    return keys


def field_disagreements(default, from_config):
    """``field: (default, default run)`` for every field where the two instances differ."""
    a, b = dataclasses.asdict(default), dataclasses.asdict(from_config)
    return {name: (a[name], b[name]) for name in a if a[name] != b[name]}


@pytest.mark.parametrize(
    "block, default, from_config",
    [
        ("reward", RewardSettings(), RewardSettings(**DEFAULT_RUN["reward"])),
        ("grpo", GRPOSettings(), GRPOSettings.from_config(DEFAULT_RUN["grpo"])),
        ("report_card", ReportCardSettings(), report_card_settings(DEFAULT_RUN["report_card"])),
        ("design_space.volume", VolumeSettings(), VolumeSettings(**DEFAULT_RUN["design_space"]["volume"])),
        ("models.*", ModelSettings("tiny", "tiny"), ModelSettings.from_config("tiny", DEFAULT_RUN["models"]["tiny"])),
    ],
    ids=["reward", "grpo", "report_card", "volume", "models"],
)
def test_settings_defaults_are_the_default_runs(block, default, from_config):
    assert field_disagreements(default, from_config) == {}
    # every key of the block with a default is a field, so none is left to a second home; not
    # report_card.facts (a file the job reads), models.*.gpu (read by the rules' resources) nor
    # models.*.gguf_path (read by rule base_model only)
    fields = {field.name for field in dataclasses.fields(default)}
    keys = {key.split(".")[0] for key in schema_keys_with_defaults(block)} - {"facts", "gpu", "gguf_path"}
    assert keys - fields == set()


def test_scoring_settings_defaults_are_the_default_runs():
    settings = config_module.calphad_settings(DEFAULT_RUN)
    scoring = DEFAULT_RUN["scoring"]
    from_config = ScoringSettings.from_settings(
        settings, checkpoint_every=scoring["checkpoint_every"], workers=scoring["workers"]
    )
    assert field_disagreements(ScoringSettings(temperatures_K=settings.temperatures_K), from_config) == {}


def test_pycalphad_and_calphad_constants_are_the_schemas():
    solver = PycalphadSettings()
    block = DEFAULT_RUN["calphad"]["pycalphad"]
    assert {key: getattr(solver, key) for key in block} == block
    assert set(schema_keys_with_defaults("calphad.pycalphad")) <= set(block)
    assert solver.order_threshold == DEFAULT_ORDER_THRESHOLD == DEFAULT_RUN["calphad"]["order_threshold"]


def test_measured_scoring_rates_are_the_schema_defaults():
    assert DEFAULT_RUN["scoring"]["worker_mem_mb"] == measured_rates.SCORING_WORKER_MEM_MB
    assert DEFAULT_RUN["scoring"]["cpu_s_per_candidate"] == measured_rates.SCORING_CPU_S_PER_CANDIDATE


def test_report_card_structures_default_names_fcc_and_hcp_on_both_shipped_databases():
    # the dataclass once defaulted to no structures, which would call every FCC and HCP phase OTHER
    structures = ReportCardSettings().structures
    assert set(structures) == {db["name"] for db in DEFAULT_RUN["calphad"]["databases"]}
    for phases in structures.values():
        assert phases["FCC_A1"] == "FCC" and phases["HCP_A3"] == "HCP"
        assert "LAVES" in phases.values() and "SIGMA" in phases.values()


@pytest.mark.parametrize("key", ["reward.no_such_key", "nowhere.deep.key"])
def test_schema_default_names_a_missing_key(key):
    with pytest.raises(KeyError, match=key):
        schema_default(key)


def test_schema_defaults_are_copies():
    schema_default("report_card.structures")["mc_ni"]["X"] = "FCC"
    assert "X" not in schema_default("report_card.structures")["mc_ni"]


def test_the_database_aggregate_reaches_the_scorer_from_the_calphad_block():
    run = copy.deepcopy(DEFAULT_RUN)
    assert ScoringSettings.from_settings(config_module.calphad_settings(run)).database_aggregate == "first"
    run["calphad"]["database_aggregate"] = "min"
    assert ScoringSettings.from_settings(config_module.calphad_settings(run)).database_aggregate == "min"


def test_the_dpo_sft_weight_defaults_to_plain_dpo_and_reaches_the_dpo_settings():
    """models.<name>.dpo.sft_weight: the schema's default (0, plain DPO) is the dataclass's, it is
    filled into a DPO block, a set value reaches the model's DPO settings, and only DPO has it."""
    filled = config_module.validate({"models": {"tiny": {"source": "tiny", "dpo": {"epochs": 2}}}})
    assert filled["models"]["tiny"]["dpo"] == {"epochs": 2, "sft_weight": 0}
    assert ModelSettings.from_config("tiny", filled["models"]["tiny"]).dpo.sft_weight == 0.0
    assert ModelSettings("tiny", "tiny").dpo.sft_weight == schema_default("models.*.dpo.sft_weight") == 0
    chosen = config_module.validate({"models": {"tiny": {"source": "tiny", "dpo": {"sft_weight": 1.5}}}})
    assert ModelSettings.from_config("tiny", chosen["models"]["tiny"]).dpo.sft_weight == 1.5


@pytest.mark.parametrize(
    "block, message",
    [
        ({"dpo": {"sft_weight": -0.5}}, "models.tiny.dpo.sft_weight: -0.5 is less than the minimum of 0"),
        ({"dpo": {"sft_weight": "high"}}, "models.tiny.dpo.sft_weight: 'high' is not of type 'number'"),
        ({"dpo": {"sft_weight": 1000}}, "models.tiny.dpo.sft_weight: 1000 is greater than the maximum of 100"),
        ({"sft": {"sft_weight": 1.0}}, "models.tiny.sft: Unevaluated properties are not allowed ('sft_weight'"),
        ({"sft": {"beta": 0.5}}, "models.tiny.sft: Unevaluated properties are not allowed ('beta'"),
    ],
    ids=["negative", "text", "huge", "on-sft", "beta-on-sft"],
)
def test_a_bad_dpo_sft_weight_is_refused_naming_the_key(block, message):
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.validate({"models": {"tiny": {"source": "tiny", **block}}})
    assert message in str(caught.value)
