"""Rule dpo: the SFT model and its preference pairs -> the DPO model and its reward curves."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.lm.curves import CURVES_SCHEMA, curves_from_log_history, plot_curves
from alloypref.lm.dpo import train_dpo
from alloypref.lm.pairs import PAIRS_SCHEMA
from alloypref.lm.registry import ModelSpec

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
model = snakemake.wildcards.model
spec = ModelSpec.from_config(model, params.model)
pairs = read_parquet(snakemake.input.pairs, PAIRS_SCHEMA)
history = train_dpo(
    spec,
    snakemake.input.sft,
    pairs,
    snakemake.output.model,
    params.workdir,
    params.seed,
    params.training["eval_fraction"],
)
curves = curves_from_log_history(history)
write_parquet(curves, snakemake.output.curves, CURVES_SCHEMA)
plot_curves(curves, ["loss", "rewards/margins", "rewards/accuracies"], snakemake.output.figure, f"DPO, {model}")
log.info("DPO of %s done on %d pairs", model, len(pairs))
