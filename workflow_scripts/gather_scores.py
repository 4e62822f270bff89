"""Rule gather_scores: shard rewards and phase tables -> one Parquet each."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA, concat_tables

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
rewards = concat_tables([read_parquet(p, REWARDS_SCHEMA) for p in snakemake.input.rewards], REWARDS_SCHEMA)  # noqa: F821
tables = concat_tables([read_parquet(p, SCORED_TABLES_SCHEMA) for p in snakemake.input.tables], SCORED_TABLES_SCHEMA)  # noqa: F821
write_parquet(tables, snakemake.output.tables, SCORED_TABLES_SCHEMA)  # noqa: F821
write_parquet(rewards, snakemake.output.rewards, REWARDS_SCHEMA)  # noqa: F821
log.info("gathered %d rewards: %s", len(rewards), rewards["status"].value_counts().to_dict())
