"""Rule import_external: a CSV of external generations -> triples in the design space + a report."""

import json

from _common import setup_logging

from alloypref.baselines.importer import import_generations
from alloypref.io import atomic_write_text, write_parquet
from alloypref.scoring import TRIPLES_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]
kept, report = import_generations(snakemake.input.generations, elements, snakemake.wildcards.name)
write_parquet(kept, snakemake.output.triples, TRIPLES_SCHEMA)
atomic_write_text(snakemake.output.report, json.dumps(report, indent=2))
log.info("imported %s: kept %d of %d, dropped %s", report["source"], report["kept"], report["rows"], report["dropped"])
