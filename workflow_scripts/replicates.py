"""Rule replicates: Table 1, the headline and matched-calls tables of a run over several seeds -> each
metric's mean over seeds with a Student-t 95 % interval, per method, and the targets' ratios pooled
over seeds (Parquet and Markdown)."""

import pandas as pd
from _common import setup_logging

from alloypref.evaluation.headline import HEADLINE_SCHEMA
from alloypref.evaluation.matched_calls import MATCHED_CALLS_SCHEMA, long_matched, targets
from alloypref.evaluation.metrics import METRICS_SCHEMA
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.replicates import REPLICATES_SCHEMA, long_headline, long_table1, markdown, pool

log = setup_logging(snakemake)  # injected by Snakemake
replicates = {model: tuple(pair) for model, pair in snakemake.params.replicates.items()}
headline = read_parquet(snakemake.input.headline, HEADLINE_SCHEMA)
matched = read_parquet(snakemake.input.matched, MATCHED_CALLS_SCHEMA)
long = pd.concat(
    [
        long_table1(read_parquet(snakemake.input.table1, METRICS_SCHEMA)),
        long_headline(headline),
        long_matched(matched),
    ],
    ignore_index=True,
)
pooled = pd.concat([targets(matched, headline, replicates), pool(long, replicates)], ignore_index=True)
write_parquet(pooled, snakemake.output.table, REPLICATES_SCHEMA)
text = markdown(pooled)
atomic_write_text(snakemake.output.markdown, text)
atomic_write_text(snakemake.output.html, pooled.to_html(index=False, float_format="%.4g"))
log.info("%d seeds' models %s; pooled:\n%s", len(set(s for _, s in replicates.values())), sorted(replicates), text)
