"""Rule summary: the verdict and every table of the run -> <results_dir>/summary.md."""

from pathlib import Path

from _common import setup_logging

from alloypref.evaluation.headline import ROUNDS_SCHEMA
from alloypref.evaluation.summary import render_summary
from alloypref.evaluation.verdict import VERDICT_SCHEMA, summary_text
from alloypref.io import atomic_write_text, read_parquet

log = setup_logging(snakemake)  # injected by Snakemake
inputs, params = snakemake.input, snakemake.params
model_tables = {
    model: {"win_draw_loss": wdl, "rule_change": change, "top_bcc": top, "kl": kl}
    for model, wdl, change, top, kl in zip(params.models, inputs.comparisons, inputs.rules, inputs.top_bcc, inputs.kl)
}
text = render_summary(
    verdict_md=summary_text(read_parquet(inputs.verdict, VERDICT_SCHEMA), read_parquet(inputs.rounds, ROUNDS_SCHEMA))
    + f"\nEvery comparison, with how its interval was made: `{params.results}/metrics/verdict.md`.\n",
    headline_md=Path(inputs.headline).read_text(encoding="utf-8"),
    table1_md=Path(inputs.table).read_text(encoding="utf-8"),
    models=params.models,
    sources=params.sources,
    model_tables=model_tables,
    manifest_path=Path(inputs.manifest),
    results_dir=params.results,
    cross_database_md=Path(inputs.cross_database).read_text(encoding="utf-8"),
    round_sources=params.round_sources,
    matched_calls_md=Path(inputs.matched_calls).read_text(encoding="utf-8"),
)
atomic_write_text(snakemake.output[0], text)
log.info("summary written to %s", snakemake.output[0])
