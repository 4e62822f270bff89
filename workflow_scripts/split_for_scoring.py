"""Rule split_for_scoring: one triples Parquet -> N shard Parquets (element sets kept together)."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import PARSED_TRIPLES_SCHEMA, split_triples

log = setup_logging(snakemake)  # injected by Snakemake
triples = read_parquet(snakemake.input[0], PARSED_TRIPLES_SCHEMA)
shards = split_triples(triples, len(snakemake.output))
for shard, path in zip(shards, snakemake.output):
    write_parquet(shard, path, PARSED_TRIPLES_SCHEMA)
log.info("split %d triples into %s", len(triples), [len(s) for s in shards])
