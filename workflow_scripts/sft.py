"""Rule sft: the curated SFT triples -> a fine-tuned model (or adapter) and its loss curves."""

from _common import setup_logging

from alloypref.design_space import SFT_SCHEMA
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.curves import CURVES_SCHEMA, curves_from_log_history, plot_curves
from alloypref.lm.registry import ModelSettings
from alloypref.lm.sft import train_sft

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
model = snakemake.wildcards.model
spec = ModelSettings.from_config(model, params.model)
triples = read_parquet(snakemake.input.triples, SFT_SCHEMA)
history = train_sft(
    spec,
    triples,
    snakemake.output.model,
    params.workdir,
    params.seed,
    params.training["eval_fraction"],
)
curves = curves_from_log_history(history)
write_parquet(curves, snakemake.output.curves, CURVES_SCHEMA)
plot_curves(curves, ["loss"], snakemake.output.figure, f"SFT loss, {model}")
log.info("SFT of %s done: final train loss %s", model, curves[curves.metric == "loss"].value.tail(1).tolist())
