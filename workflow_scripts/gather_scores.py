"""Rule gather_scores: shard rewards and phase tables -> one Parquet each."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA, TRIPLES_SCHEMA, concat_tables

log = setup_logging(snakemake)  # injected by Snakemake
rewards = concat_tables([read_parquet(p, REWARDS_SCHEMA) for p in snakemake.input.rewards], REWARDS_SCHEMA)
# back to the order of the triples (shards were cut after sorting by element set)
order = {cid: i for i, cid in enumerate(read_parquet(snakemake.input.triples, TRIPLES_SCHEMA)["candidate_id"])}
rewards = rewards.sort_values("candidate_id", key=lambda ids: ids.map(order)).reset_index(drop=True)
tables = concat_tables([read_parquet(p, SCORED_TABLES_SCHEMA) for p in snakemake.input.tables], SCORED_TABLES_SCHEMA)
write_parquet(tables, snakemake.output.tables, SCORED_TABLES_SCHEMA)
write_parquet(rewards, snakemake.output.rewards, REWARDS_SCHEMA)
log.info("gathered %d rewards: %s", len(rewards), rewards["status"].value_counts().to_dict())
