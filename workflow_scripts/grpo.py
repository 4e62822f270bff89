"""Rule grpo: the SFT model -> the GRPO (or RLOO) model, its training curves and every completion it
scored during training."""

import json

from _common import setup_logging
from _settings import calphad_settings, trust_evidence

from alloypref.backend_factory import make_backend
from alloypref.calphad.worker import SolverWorker
from alloypref.design_space import SFT_SCHEMA
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.curves import CURVES_SCHEMA, curves_from_log_history, plot_curves
from alloypref.lm.grpo import COMPONENTS, TRAIN_SCORES_SCHEMA, CompletionScorer, GRPOSettings, train_grpo
from alloypref.lm.registry import ModelSettings
from alloypref.scoring import ScoringSettings

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
model = snakemake.wildcards.model
spec = ModelSettings.from_config(model, params.model)
settings = GRPOSettings.from_config(params.grpo)
prompt = read_parquet(snakemake.input.triples, SFT_SCHEMA)["prompt"].iloc[0]
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]
calphad = calphad_settings(params)
options = ScoringSettings.from_settings(calphad)
backend = make_backend(calphad)
solvers = [SolverWorker(backend, options.timeout_s) for _ in range(settings.scorer_workers)]
evidence = trust_evidence(snakemake.input, calphad)  # the same database choice and trust as rule score
scorer = CompletionScorer(backend, options, elements, solvers, id_prefix=f"{model}-grpo-train", trust_evidence=evidence)
log.info(
    "%s of %s: %d steps x %d completions, reward weights %s",
    settings.algorithm.upper(),
    model,
    settings.steps,
    settings.num_generations * settings.prompts_per_step,
    settings.weights,
)
try:
    history = train_grpo(
        spec, snakemake.input.sft, prompt, settings, scorer, snakemake.output.model, params.workdir, params.seed
    )
finally:
    for solver in solvers:
        solver.close()
scores = scorer.table()
write_parquet(scores, snakemake.output.scores, TRAIN_SCORES_SCHEMA)
curves = curves_from_log_history(history)
write_parquet(curves, snakemake.output.curves, CURVES_SCHEMA)
metrics = [
    "reward",
    *[f"rewards/{name}/mean" for name in COMPONENTS],
    "calphad/all_rules",
    "calphad/unique_masters",
    "frac_reward_zero_std",  # groups with one reward for every completion: zero advantage
    "kl",
    "completions/mean_length",
]
plot_curves(curves, metrics, snakemake.output.figure, f"{settings.algorithm.upper()}, {model}")
log.info(
    "%s of %s done: %d completions scored, %d CALPHAD calls, all-rules share %.3f",
    settings.algorithm.upper(),
    model,
    len(scores),
    scorer.calls,
    float(scores["all_rules"].mean()) if len(scores) else float("nan"),
)
