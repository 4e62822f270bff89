"""Rule grpo_ledger: the CALPHAD calls of a GRPO model's history (training, then its final samples)."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.ledger import LEDGER_SCHEMA, hits_per_1000, ledger_rows

log = setup_logging(snakemake)  # injected by Snakemake
model = snakemake.wildcards.model
steps = [
    ("grpo_train", read_parquet(snakemake.input.train)),
    ("final_samples", read_parquet(snakemake.input.final)),
]
ledger = ledger_rows(steps, f"{model}-grpo")
write_parquet(ledger, snakemake.output[0], LEDGER_SCHEMA)
log.info(
    "ledger of %s-grpo: %s; %.1f hits, %.1f trusted pairs, %.1f trusted systems per 1,000 calls",
    model,
    ledger.to_dict("records"),
    *(hits_per_1000(ledger, count) for count in ("hits", "trusted_pairs", "trusted_systems")),
)
