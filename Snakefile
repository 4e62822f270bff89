# AlloyPref workflow. Each stage lives in rules/<stage>.smk; the science lives in src/alloypref.
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, update_config, validate

# The workflow's own package, whatever is installed: the config checks below are the ones its jobs run.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from alloypref.config import check_values, check_yaml_files, typed_command_line_values
from alloypref.replicates import expand_models

# Every job's Python starts with the same hash seed: pycalphad's solver can land on a different
# composition set in near-degenerate cases depending on set iteration order (measured: 1 of 128
# candidates changed its lattice mismatch by 0.06 A between PYTHONHASHSEED 0 and 1).
os.environ.setdefault("PYTHONHASHSEED", "0")

min_version("9.0")


# The active config is config/config.yaml, or the --configfile files alone when any are given: merged
# into the default, a config could never drop a key of it (Snakemake merges mappings key by key, so
# config/paper.yaml would keep the default's `tiny` model). --config key=value layers on whichever is
# active. Snakemake's --replace-workflow-config is not used: it drops the default for a lone --config.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Snakemake leaves the numbers inside a `--config key={...}` value strings: layered again, typed.
update_config(config, typed_command_line_values(workflow.config_settings.config))

# Snakemake's YAML loader keeps the last of repeated keys: read every config file again strictly.
check_yaml_files(workflow.configfiles)
validate(config, "config/schemas/config.schema.yaml")
check_values(config)
# replicates.seeds: each model becomes one model per seed, {model}_s{seed}, so every per-model rule
# (SFT to its metrics) runs once per seed; rule replicates pools their metrics (alloypref.replicates).
config.update(expand_models(config))
check_values(config)


report: "report/workflow.rst"


# Names first (every later file uses them), then code versions, config providers, resources and
# input functions; the stage files use all of them.
include: "rules/common_names.smk"
include: "rules/common_code.smk"
include: "rules/common_settings.smk"
include: "rules/common_resources.smk"
include: "rules/common.smk"
include: "rules/design_space.smk"
include: "rules/base_model.smk"
include: "rules/train.smk"
include: "rules/grpo.smk"
include: "rules/sample.smk"
include: "rules/databases.smk"
include: "rules/score.smk"
include: "rules/cross_database.smk"
include: "rules/iterative_dpo.smk"
include: "rules/baselines.smk"
include: "rules/ledger.smk"
include: "rules/evaluate.smk"
include: "rules/provenance.smk"
include: "rules/replicates.smk"


check_local_models()


# Jobs of seconds that only split, gather or write small files run on the submitting host (SLURM);
# those of the design space are named in rules/design_space.smk, which defines one set or the other.
localrules:
    all,
    enumerate_triples,
    prepare_triples,
    split_for_scoring,
    gather_scores,
    import_external,
    random_baseline,
    random_pool,
    budget_baseline,
    ledger,
    accept_round,
    summary,
    manifest,
    replicates,
    base_model,


# rule all asks for every artifact a user reads, not only the last ones: Snakemake does not rerun a
# job whose output is missing while the files made from it are up to date, so a model folder lost to
# a failed or killed rerun would otherwise be reported as "Nothing to be done".
rule all:
    input:
        results_path("summary.md"),
        results_path("metrics/table1.parquet"),
        results_path("manifest.json"),
        results_path("explorer.html"),
        expand(results_path("scores/{source}/{table}.parquet"), source=SOURCES, table=["rewards", "phase_tables"]),
        expand(results_path("design_space/{name}.parquet"), name=["candidates", "curation", "bcc", "b2", "sft_triples"]),
        expand(results_path("models/{model}/{stage}"), model=MODELS, stage=STAGES),
        expand(results_path("models/{model}/{stage}_curves.parquet"), model=MODELS, stage=STAGES),
        expand(results_path("samples/{model}/{stage}.parquet"), model=MODELS, stage=STAGES),
        expand(results_path("pairs/{model}/r{round}.parquet"), model=MODELS, round=ROUNDS),
        expand(results_path("models/{model}/dpo_r{round}"), model=MODELS, round=ROUNDS),
        expand(results_path("rounds/{model}/r{round}.json"), model=MODELS, round=ROUNDS),
        expand(results_path("ledger/{source}.parquet"), source=EVAL_SOURCES),
        results_path("metrics/headline.parquet"),
        results_path("metrics/matched_calls.parquet"),
        expand(results_path("databases/{name}.parquet"), name=["report_card", "pair_summary", "phase_inventory"]),
        results_path("databases/cross_database_agreement.parquet"),
        expand(results_path("models/{model}/grpo"), model=GRPO_MODELS),
        expand(results_path("models/{model}/grpo_curves.parquet"), model=GRPO_MODELS),
        expand(results_path("samples/{model}/grpo.parquet"), model=GRPO_MODELS),
        expand(results_path("ledger/{model}-grpo.parquet"), model=GRPO_MODELS),
        [results_path("metrics/replicates.parquet")] if REPLICATES else [],
