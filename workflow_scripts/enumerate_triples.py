"""Rule enumerate_triples: curated lists -> the SFT dataset (prompt, completion) and its counts."""

import json

from _common import setup_logging

from alloypref.design_space import FILTER_SCHEMA, SFT_SCHEMA, VolumeSettings, sft_triples
from alloypref.io import atomic_write_text, read_parquet, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
bcc = read_parquet(snakemake.input.bcc, FILTER_SCHEMA)
b2 = read_parquet(snakemake.input.b2, FILTER_SCHEMA)
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]  # the design space's elements, named in the prompt
triples = sft_triples(
    list(bcc["formula"]),
    list(b2["formula"]),
    elements,
    VolumeSettings(**params.volume),
    seed=params.seed,
    template=params.prompt_template,
)
counts = {"bcc": len(bcc), "b2": len(b2), "pairs": len(bcc) * len(b2), "triples": len(triples), "elements": elements}
write_parquet(triples, snakemake.output.triples, SFT_SCHEMA)
atomic_write_text(snakemake.output.counts, json.dumps(counts, indent=2))
log.info("SFT triples: %s", counts)
