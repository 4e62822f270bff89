"""How many triples each scored source is configured to make.

A source is a set of triples that is scored as one (``results/scores/{source}/``): a model's samples
(``{model}-sft``, ``{model}-dpo``, every round's ``{model}-dpo_r{r}``, ``{model}-grpo``), the
budget-matched baselines (``{model}-bestofn``, ``{model}-random``: at most as many CALPHAD calls as
the model's DPO pipeline can spend), the random search (``random``), API models, imported external
CSVs and the example triples. The workflow sizes its scoring jobs from these counts, and the cost
model (:mod:`alloypref.cost_model`) the whole run; a source whose size only its file knows
(external CSVs, the example triples) is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping

from alloypref.lm.iterative import max_budget, samples_per_round
from alloypref.lm.registry import sampling_n


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
        sizes[f"{model}-sft"] = sampling_n(config, model)
        sizes[f"{model}-dpo"] = samples_per_round(config, model)  # the last accepted round's samples
        if model in config["grpo"]["models"]:
            sizes[f"{model}-grpo"] = sampling_n(config, model)
        for r in range(1, rounds + 1):
            sizes[f"{model}-dpo_r{r}"] = samples_per_round(config, model)
        if config["iterative_dpo"]["budget_baselines"]:
            for kind in ("bestofn", "random"):
                sizes[f"{model}-{kind}"] = max_budget(config, model)
    if config["baselines"]["random"]:
        sizes["random"] = random_n(config)
    for name, settings in config["baselines"].get("api", {}).items():
        sizes[name] = settings["n"]
    for name in config["baselines"]["external"]:
        sizes[name] = None
    sizes["example"] = None
    return sizes
