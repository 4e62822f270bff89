"""Rule matched_calls: each compared method's scored steps -> its trusted pairs, hits and systems at
the model's matched CALPHAD-call budget (alloypref.evaluation.matched_calls)."""

from _common import setup_logging

from alloypref.evaluation.matched_calls import MATCHED_CALLS_SCHEMA, markdown, matched_table
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.ledger import discovery_curve

log = setup_logging(snakemake)  # injected by Snakemake
curves = {
    source: discovery_curve([(name, read_parquet(path)) for name, path in steps])
    for source, steps in snakemake.params.steps.items()
}
table = matched_table(curves, snakemake.params.models)
write_parquet(table, snakemake.output.table, MATCHED_CALLS_SCHEMA)
text = markdown(table)
atomic_write_text(snakemake.output.markdown, text)
log.info("matched calls:\n%s", text)
