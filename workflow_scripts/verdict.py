"""Rule verdict: the headline table, the per-round table and each model's win/draw/loss table -> which
method beats which baseline on which metric (Parquet), as a statement with its table (Markdown, HTML)."""

from _common import setup_logging

from alloypref.evaluation.headline import HEADLINE_SCHEMA, ROUNDS_SCHEMA
from alloypref.evaluation.verdict import VERDICT_SCHEMA, findings, html, markdown
from alloypref.io import atomic_write_text, read_parquet, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
inputs, params = snakemake.input, snakemake.params
headline = read_parquet(inputs.headline, HEADLINE_SCHEMA)
rounds = read_parquet(inputs.rounds, ROUNDS_SCHEMA)
win_draw_loss = {model: read_parquet(path) for model, path in zip(params.models, inputs.comparisons)}
table = findings(headline, win_draw_loss, params.bootstrap, params.seed)
write_parquet(table, snakemake.output.table, VERDICT_SCHEMA)
text = markdown(table, rounds)
atomic_write_text(snakemake.output.markdown, text)
atomic_write_text(snakemake.output.html, html(table, rounds))
log.info("verdict:\n%s", text)
