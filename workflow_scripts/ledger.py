"""Rule ledger: a method's scored steps -> its ledger of CALPHAD calls and all-rules hits."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.ledger import LEDGER_SCHEMA, hits_per_1000, ledger_rows
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
source = snakemake.wildcards.source
steps = [(name, read_parquet(path, REWARDS_SCHEMA)) for name, path in zip(snakemake.params.steps, snakemake.input)]
ledger = ledger_rows(steps, source)
write_parquet(ledger, snakemake.output[0], LEDGER_SCHEMA)
log.info(
    "%s: %s; %.1f hits, %.1f trusted pairs, %.1f trusted systems per 1,000 calls",
    source,
    ledger.to_dict("records"),
    *(hits_per_1000(ledger, count) for count in ("hits", "trusted_pairs", "trusted_systems")),
)
