"""Rule pair_summary_without_facts: an empty pair summary (no phase facts: every covered pair untested)."""

from _common import setup_logging

from alloypref.calphad.confidence import PAIR_SUMMARY_SCHEMA
from alloypref.io import write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
write_parquet(PAIR_SUMMARY_SCHEMA.empty_table().to_pandas(), snakemake.output[0], PAIR_SUMMARY_SCHEMA)
log.info("no phase facts: every covered element pair counts as untested")
