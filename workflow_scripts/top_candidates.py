"""Rule top_candidates: the best k triples of a source -> phase fraction vs temperature figure."""

from _common import setup_logging

from alloypref.evaluation.figures import phase_fractions
from alloypref.io import read_parquet
from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA
from alloypref.sources import source_label

log = setup_logging(snakemake)  # injected by Snakemake
rewards = read_parquet(snakemake.input.rewards, REWARDS_SCHEMA)
tables = read_parquet(snakemake.input.tables, SCORED_TABLES_SCHEMA)
best = (
    rewards[rewards["status"] == "ok"]
    .drop_duplicates("master_composition")
    .sort_values("reward", ascending=False)
    .head(snakemake.params.k)
)
title = f"Top {len(best)} of {source_label(snakemake.wildcards.source)}: phase mole fractions against temperature"
phase_fractions(tables, best, snakemake.output[0], title)
log.info(
    "top candidates of %s:\n%s",
    snakemake.wildcards.source,
    best[["bcc", "b2", "b2_volume_percent", "reward"]].to_string(index=False),
)
