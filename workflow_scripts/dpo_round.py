"""Rule dpo_round: round r's pairs and starting policy -> the round's DPO policy and reward curves."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.lm.curves import CURVES_SCHEMA, curves_from_log_history, plot_curves
from alloypref.lm.dpo import train_dpo
from alloypref.lm.iterative import START, RoundDecision, current_policy, pick
from alloypref.lm.pairs import PAIRS_SCHEMA
from alloypref.lm.registry import ModelSettings

log = setup_logging(snakemake)  # injected by Snakemake
params, inputs = snakemake.params, snakemake.input
model, round_number = snakemake.wildcards.model, snakemake.wildcards.round
spec = ModelSettings.from_config(model, params.model)
previous = RoundDecision.read(inputs.decision) if "decision" in inputs.keys() else None
policy = current_policy(previous)
models = dict(inputs.items())
start = pick(models, f"model_{policy}", "model")
reference = pick(models, f"model_{START}", "model") if params.reference == "sft" else start
pairs = read_parquet(inputs.pairs, PAIRS_SCHEMA)
log.info("round %s of %s: DPO from %s, reference %s", round_number, model, policy, params.reference)
history = train_dpo(
    spec,
    start,
    pairs,
    snakemake.output.model,
    params.workdir,
    params.seed,
    params.training["eval_fraction"],
    reference_dir=reference,
)
curves = curves_from_log_history(history)
write_parquet(curves, snakemake.output.curves, CURVES_SCHEMA)
plot_curves(
    curves,
    ["loss", "rewards/margins", "rewards/accuracies"],
    snakemake.output.figure,
    f"DPO round {round_number}, {model}",
)
log.info("DPO round %s of %s done on %d pairs", round_number, model, len(pairs))
