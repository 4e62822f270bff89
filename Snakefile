# AlloyPref workflow. Each stage lives in rules/<stage>.smk; the science lives in src/alloypref.
import os
import sys

from snakemake.utils import min_version, validate

# The workflow's own package, whatever is installed: the config checks below are the ones its jobs run.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from alloypref.config import check_values, check_yaml_files

# Every job's Python starts with the same hash seed: pycalphad's solver can land on a different
# composition set in near-degenerate cases depending on set iteration order (measured: 1 of 128
# candidates changed its lattice mismatch by 0.06 A between PYTHONHASHSEED 0 and 1).
os.environ.setdefault("PYTHONHASHSEED", "0")

min_version("9.0")


configfile: "config/config.yaml"


# Snakemake's YAML loader keeps the last of repeated keys: read every config file again strictly.
check_yaml_files(workflow.configfiles)
validate(config, "config/schemas/config.schema.yaml")
check_values(config)


include: "rules/common.smk"
include: "rules/design_space.smk"
include: "rules/train.smk"
include: "rules/sample.smk"
include: "rules/score.smk"
include: "rules/pairs.smk"
include: "rules/evaluate.smk"
include: "rules/provenance.smk"


# rule all asks for every artifact a user reads, not only the last ones: Snakemake does not rerun a
# job whose output is missing while the files made from it are up to date, so a model folder lost to
# a failed or killed rerun would otherwise be reported as "Nothing to be done".
rule all:
    input:
        "results/summary.md",
        "results/metrics/table1.parquet",
        "results/manifest.json",
        expand("results/scores/{source}/{table}.parquet", source=SOURCES, table=["rewards", "phase_tables"]),
        expand("results/design_space/{name}.parquet", name=["candidates", "curation", "bcc", "b2", "sft_triples"]),
        expand("results/models/{model}/{stage}", model=MODELS, stage=STAGES),
        expand("results/models/{model}/{stage}_curves.parquet", model=MODELS, stage=STAGES),
        expand("results/samples/{model}/{stage}.parquet", model=MODELS, stage=STAGES),
        expand("results/pairs/{model}.parquet", model=MODELS),
