"""Rule prepare_triples: a CSV or Parquet of triples -> the checked triples Parquet."""

from _common import setup_logging

from alloypref.io import write_parquet
from alloypref.scoring import PARSED_TRIPLES_SCHEMA, read_triples

log = setup_logging(snakemake)  # injected by Snakemake
triples = read_triples(snakemake.input[0])
write_parquet(triples, snakemake.output[0], PARSED_TRIPLES_SCHEMA)
log.info("%d triples from %s", len(triples), snakemake.input[0])
