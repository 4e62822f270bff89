"""Rule final_dpo_policy: the last round's decision -> the final DPO policy (a copy of the last accepted round's
model, or of the SFT model when every round was rejected), its curves and its samples."""

import shutil
from pathlib import Path

import pandas as pd
from _common import setup_logging

from alloypref.completion.parsing import SAMPLES_SCHEMA
from alloypref.io import atomic_directory, read_parquet, write_parquet
from alloypref.lm.curves import CURVES_SCHEMA, plot_curves
from alloypref.lm.iterative import START, RoundDecision, pick

log = setup_logging(snakemake)  # injected by Snakemake
inputs, output = snakemake.input, snakemake.output
model = snakemake.wildcards.model
final = RoundDecision.read(inputs.decision)
named = dict(inputs.items())
with atomic_directory(Path(output.model)) as saving:
    shutil.copytree(pick(named, f"model_{final.policy}", "model"), saving, dirs_exist_ok=True)
samples = read_parquet(pick(named, f"samples_{final.policy}", "samples"), SAMPLES_SCHEMA)
write_parquet(samples, output.samples, SAMPLES_SCHEMA)
if final.policy == START:
    curves = pd.DataFrame(columns=CURVES_SCHEMA.names)
    log.warning("%s: every DPO round was rejected; the final policy is the SFT model", model)
else:
    curves = read_parquet(pick(named, f"curves_{final.policy}", "curves"), CURVES_SCHEMA)
write_parquet(curves, output.curves, CURVES_SCHEMA)
plot_curves(curves, ["loss", "rewards/margins", "rewards/accuracies"], output.figure, f"DPO ({final.policy}), {model}")
log.info("%s: final DPO policy %s, %d samples", model, final.policy, len(samples))
