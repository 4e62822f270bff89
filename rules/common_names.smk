# Names of the workflow (no rules here): the results root, models, stages, rounds and the scored
# sources (named by alloypref.sources, the one registry of source names), wildcards and scatters.
from alloypref import sources as source_registry
from alloypref.config import check_scatter
from alloypref.evaluation import matched_calls
from alloypref.replicates import replicate_models

RESULTS = config["results_dir"].rstrip("/")


def results_path(path):
    """A path under this config's results root (config results_dir)."""
    return f"{RESULTS}/{path}"


# Models of the registry ({model} wildcard) and the sources of scored triples: each model's SFT and
# DPO samples ({model}-sft, {model}-dpo: the last accepted round's), the samples of every DPO round
# ({model}-dpo_r{round}), the budget-matched baselines of each model ({model}-bestofn: best-of-N from
# the SFT model; {model}-random: random search), GRPO samples of the models in grpo.models
# ({model}-grpo) and the example triples of config scoring.triples.
MODELS = list(config["models"])
STAGES = list(source_registry.MODEL_STAGES)
ITERATIVE = config["iterative_dpo"]
ROUNDS = list(range(1, ITERATIVE["rounds"] + 1))
ROUND_STAGES = [source_registry.round_stage(r) for r in ROUNDS]
BUDGET_KINDS = source_registry.budget_kinds(config)
GRPO_MODELS = list(config["grpo"]["models"])  # models with an online-RL stage (rules/grpo.smk)
_SOURCE_NAMES = source_registry.source_names(config)
MODEL_SOURCES = _SOURCE_NAMES.model
BUDGET_SOURCES = _SOURCE_NAMES.budget
ROUND_SOURCES = _SOURCE_NAMES.rounds
EXTERNAL = _SOURCE_NAMES.external
API = _SOURCE_NAMES.api  # language models behind an endpoint: rules/baselines.smk
BASELINES = _SOURCE_NAMES.baselines
EVAL_SOURCES = _SOURCE_NAMES.evaluated  # what the metric tables compare
SOURCES = _SOURCE_NAMES.scored  # everything that is scored
SHIPPED_DESIGN_SPACE = config["design_space"]["curated"] == "shipped"
# replicates.seeds: the models are one per seed ({model}_s{seed}, alloypref.replicates); rule
# replicates pools their metrics. Empty for a run of one seed.
REPLICATES = replicate_models(config)
# Model stages drawn again in evaluation.fresh_batches independent batches (rule fresh_samples), the
# intervals of the set-valued metrics (alloypref.evaluation.set_metrics): SFT, every DPO round and
# GRPO; the final DPO source uses its policy's round. None when fresh_batches is 0.
FRESH_SOURCES = (
    [
        source_registry.model_source(model, stage)
        for model in MODELS
        for stage in [source_registry.SFT, *ROUND_STAGES, *([source_registry.GRPO] if model in GRPO_MODELS else [])]
    ]
    if config["evaluation"]["fresh_batches"]
    else []
)

# Categories of `snakemake --report`, numbered because the report lists them in sort order: the
# verdict first, then the headline table, Table 1 and the rest in reading order.
CATEGORY = {
    "verdict": "1 Verdict",
    "headline": "2 Headline",
    "table1": "3 Table 1",
    "dpo": "4 DPO vs SFT",
    "training": "5 Training curves",
    "top": "6 Top candidates",
    "databases": "7 Databases",
    "replicates": "8 Replicates",
    "explorer": "9 Explorer",
}


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    stage="|".join([*source_registry.MODEL_STAGES, source_registry.GRPO]),
    round="[1-9][0-9]*",
    source=source_registry.SOURCE_PATTERN,


scattergather:
    score=config["scoring"]["shards"],
    curate=config["design_space"]["filter"]["shards"],


# --set-scatter score=N takes the place of the validated config key: bounded the same way.
check_scatter(workflow.resource_settings.overwrite_scatter)
