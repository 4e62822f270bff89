"""The scored sources of a run: their names (one registry) and how many triples each is configured to make.

A source is a set of triples that is scored as one (``results/scores/{source}/``): a model's samples
(``{model}-sft``, ``{model}-dpo``, every round's ``{model}-dpo_r{r}``, ``{model}-grpo``), the
budget-matched baselines (``{model}-bestofn``, ``{model}-random``: at most as many CALPHAD calls as
the model's DPO pipeline can spend), the random search (``random``), API models, imported external
CSVs and the example triples. The workflow's rules, its scoring jobs' sizes and the cost model
(:mod:`alloypref.cost_model`) all take the names from :func:`source_names`; a source whose size only
its file knows (external CSVs, the example triples) is ``None`` in :func:`source_sizes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alloypref.lm.iterative import max_budget, samples_per_round
from alloypref.lm.registry import sampling_n

# Stages of a model that are scored as sources {model}-{stage}: SFT, the final DPO policy (the last
# accepted round's), each DPO round (ROUND_PREFIX + r) and GRPO (models in grpo.models).
SFT = "sft"
DPO = "dpo"
ROUND_PREFIX = "dpo_r"
GRPO = "grpo"
MODEL_STAGES = (SFT, DPO)
# Budget-matched baselines of each model, {model}-{kind} (config iterative_dpo.budget_baselines).
BESTOFN = "bestofn"
BUDGET_KINDS = (BESTOFN, "random")
# Sources named without a model: the random search (baselines.random) and the example triples
# (scoring.triples). Names chosen in the config (baselines.external, baselines.api) may not take them.
RANDOM = "random"
EXAMPLE = "example"
BUILTIN_NAMES = (RANDOM, EXAMPLE)

# A source name: a bare name (external, API, random, example) or {model}-{stage or budget kind}.
_SUFFIXES = (SFT, DPO, f"{ROUND_PREFIX}[1-9][0-9]*", *BUDGET_KINDS, GRPO)
SOURCE_PATTERN = "[A-Za-z0-9_]+(" + "|".join(f"-{suffix}" for suffix in _SUFFIXES) + ")?"


class SourceNameError(ValueError):
    """A source name chosen in the config is already another source's."""


def round_stage(round_number: int) -> str:
    """The stage of DPO round ``round_number`` (1-based): ``dpo_r1``, ``dpo_r2``, ..."""
    return f"{ROUND_PREFIX}{round_number}"


def model_source(model: str, stage: str) -> str:
    """The source of a model's stage or budget-matched baseline: ``{model}-{stage}``."""
    return f"{model}-{stage}"


@dataclass(frozen=True)
class SourceNames:
    """Every source name of a config, in the order the workflow lists them.

    ``model``: each model's SFT and final DPO samples and its GRPO samples (models in grpo.models);
    ``budget``: each model's budget-matched baselines; ``rounds``: each model's DPO-round samples;
    ``external``, ``api``: the names of baselines.external and baselines.api; ``baselines``: the
    random search (if baselines.random), the external and the API sources."""

    model: list[str]
    budget: list[str]
    rounds: list[str]
    external: list[str]
    api: list[str]
    baselines: list[str]

    @property
    def evaluated(self) -> list[str]:
        """The sources the metric tables compare (Table 1, headline, ledgers)."""
        return self.model + self.budget + self.baselines

    @property
    def scored(self) -> list[str]:
        """Every source that is scored: the evaluated ones, every DPO round's and the example triples."""
        return self.evaluated + self.rounds + [EXAMPLE]

    @property
    def random_searches(self) -> list[str]:
        """The sources drawn at random from the candidates (the random search and each model's
        budget-matched random baseline)."""
        return [name for name in self.baselines + self.budget if name == RANDOM or name.endswith(f"-{RANDOM}")]


def budget_kinds(config: Mapping) -> list[str]:
    """The budget-matched baseline kinds of a config: both, or none (iterative_dpo.budget_baselines)."""
    return list(BUDGET_KINDS) if config["iterative_dpo"]["budget_baselines"] else []


def source_names(config: Mapping) -> SourceNames:
    """The source names of a validated config."""
    models = list(config["models"])
    grpo_models = list(config["grpo"]["models"])
    rounds = [round_stage(r) for r in range(1, config["iterative_dpo"]["rounds"] + 1)]
    external = list(config["baselines"]["external"])
    api = list(config["baselines"].get("api", {}))
    return SourceNames(
        model=[
            model_source(model, stage)
            for model in models
            for stage in [*MODEL_STAGES, *([GRPO] if model in grpo_models else [])]
        ],
        budget=[model_source(model, kind) for model in models for kind in budget_kinds(config)],
        rounds=[model_source(model, stage) for model in models for stage in rounds],
        external=external,
        api=api,
        baselines=([RANDOM] if config["baselines"]["random"] else []) + external + api,
    )


def check_source_names(config: Mapping) -> None:
    """Refuse a source name chosen in the config (baselines.external, baselines.api) that is a
    built-in source's (``random``, ``example``, ``{model}-{stage}``) or another chosen source's:
    the workflow would score one of the two and silently drop the other.

    Raises:
        SourceNameError: naming the config key and the name.
    """
    baselines = config.get("baselines") or {}
    models = config.get("models") or {}
    taken = {
        RANDOM: "a built-in source's (the random search)",
        EXAMPLE: "a built-in source's (the example triples of scoring.triples)",
    }
    for model in models:
        for stage in (*MODEL_STAGES, GRPO, *BUDGET_KINDS):
            taken[model_source(model, stage)] = f"a source's of model {model!r}"
    for block in ("external", "api"):
        for name in baselines.get(block) or {}:
            if name in taken:
                raise SourceNameError(
                    f"config key baselines.{block}.{name}: the name {name!r} is already {taken[name]}; "
                    "choose another name"
                )
            taken[name] = f"the source's of config key baselines.{block}.{name}"


def random_n(config: Mapping) -> int:
    """Triples of the random search: ``baselines.random_n``, else as many as the first model samples."""
    if config["baselines"]["random_n"]:
        return config["baselines"]["random_n"]
    return sampling_n(config, next(iter(config["models"])))


def source_sizes(config: Mapping) -> dict[str, int | None]:
    """Every scored source of a validated config and the triples it is configured to make (an upper
    bound for the budget-matched baselines, which stop at the DPO pipeline's spent calls)."""
    sizes: dict[str, int | None] = {}
    rounds = config["iterative_dpo"]["rounds"]
    for model in config["models"]:
        sizes[model_source(model, SFT)] = sampling_n(config, model)
        sizes[model_source(model, DPO)] = samples_per_round(config, model)  # the last accepted round's samples
        if model in config["grpo"]["models"]:
            sizes[model_source(model, GRPO)] = sampling_n(config, model)
        for r in range(1, rounds + 1):
            sizes[model_source(model, round_stage(r))] = samples_per_round(config, model)
        for kind in budget_kinds(config):
            sizes[model_source(model, kind)] = max_budget(config, model)
    if config["baselines"]["random"]:
        sizes[RANDOM] = random_n(config)
    for name, settings in config["baselines"].get("api", {}).items():
        sizes[name] = settings["n"]
    for name in config["baselines"]["external"]:
        sizes[name] = None
    sizes[EXAMPLE] = None
    return sizes


def source_label(source: str) -> str:
    """A reader's name for a source: ``tiny-dpo_r2`` -> "tiny DPO round 2", ``tiny-bestofn`` ->
    "tiny best-of-N (DPO's budget)", ``random`` -> "random search"; a name of no known form (an
    external or API source) is returned as it is."""
    if source == RANDOM:
        return "random search"
    model, dash, stage = source.rpartition("-")
    if not dash:
        return source
    if stage.startswith(ROUND_PREFIX) and stage[len(ROUND_PREFIX) :].isdigit():
        return f"{model} DPO round {stage[len(ROUND_PREFIX) :]}"
    names = {SFT: "SFT", DPO: "DPO", GRPO: "GRPO"} | dict(
        zip(BUDGET_KINDS, ("best-of-N (DPO's budget)", "random search (DPO's budget)"))
    )
    return f"{model} {names[stage]}" if stage in names else source
