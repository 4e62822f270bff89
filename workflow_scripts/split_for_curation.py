"""Rule split_for_curation: candidates -> N shards, element sets kept together."""

from _common import setup_logging

from alloypref.design_space import CANDIDATES_SCHEMA
from alloypref.io import read_parquet, split_contiguous, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
candidates = read_parquet(snakemake.input[0], CANDIDATES_SCHEMA)
shards = split_contiguous(candidates, len(snakemake.output), ["elements", "kind", "formula"])
for shard, path in zip(shards, snakemake.output):
    write_parquet(shard, path, CANDIDATES_SCHEMA)
log.info("split %d candidates into %s", len(candidates), [len(s) for s in shards])
