"""Rule summary: every table of the run -> <results_dir>/summary.md."""

from pathlib import Path

from _common import setup_logging

from alloypref.evaluation.summary import render_summary
from alloypref.io import atomic_write_text

log = setup_logging(snakemake)  # injected by Snakemake
inputs, params = snakemake.input, snakemake.params
model_tables = {
    model: {"win_draw_loss": wdl, "rule_change": change, "top_bcc": top, "kl": kl}
    for model, wdl, change, top, kl in zip(params.models, inputs.comparisons, inputs.rules, inputs.top_bcc, inputs.kl)
}
text = render_summary(
    Path(inputs.table).read_text(encoding="utf-8")
    + "\n## Headline: hits per CALPHAD call (bootstrap 95 % intervals)\n\n"
    f"{Path(inputs.headline).read_text(encoding='utf-8')}\nFigures: `{params.results}/figures/hits_per_call.png` (hits against "
    f"calls), `{params.results}/figures/rounds.png` (per-round trajectories).\n",
    params.models,
    params.sources,
    model_tables,
    Path(inputs.manifest),
    params.results,
    Path(inputs.cross_database).read_text(encoding="utf-8"),
)
atomic_write_text(snakemake.output[0], text)
log.info("summary written to %s", snakemake.output[0])
