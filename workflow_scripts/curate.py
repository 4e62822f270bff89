"""Rule curate: filtered shards -> the curated BCC and B2 lists and the counts."""

import json

from _common import setup_logging

from alloypref.design_space import FILTER_SCHEMA, curated_lists
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.scoring import concat_tables

log = setup_logging(snakemake)  # injected by Snakemake
filtered = concat_tables([read_parquet(p, FILTER_SCHEMA) for p in snakemake.input], FILTER_SCHEMA)
bcc, b2, counts = curated_lists(filtered, snakemake.params.min_coverage)
write_parquet(filtered, snakemake.output.filtered, FILTER_SCHEMA)
write_parquet(bcc, snakemake.output.bcc, FILTER_SCHEMA)
write_parquet(b2, snakemake.output.b2, FILTER_SCHEMA)
atomic_write_text(snakemake.output.counts, json.dumps(counts, indent=2))
log.info("curated: %s", counts)
