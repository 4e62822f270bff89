"""Rule curate: filtered shards -> the curated BCC and B2 lists and the counts."""

import json

from _common import setup_logging

from alloypref.design_space import FILTER_SCHEMA, curated_lists
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.scoring import concat_tables

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
filtered = concat_tables([read_parquet(p, FILTER_SCHEMA) for p in snakemake.input], FILTER_SCHEMA)  # noqa: F821
bcc, b2, counts = curated_lists(filtered, snakemake.params.min_coverage)  # noqa: F821
write_parquet(filtered, snakemake.output.filtered, FILTER_SCHEMA)  # noqa: F821
write_parquet(bcc, snakemake.output.bcc, FILTER_SCHEMA)  # noqa: F821
write_parquet(b2, snakemake.output.b2, FILTER_SCHEMA)  # noqa: F821
atomic_write_text(snakemake.output.counts, json.dumps(counts, indent=2))  # noqa: F821
log.info("curated: %s", counts)
