"""Rule kl: SFT and DPO models of one model -> per-token KL(DPO || SFT) by element and for numbers."""

import json

from _common import setup_logging

from alloypref.completion.parsing import SAMPLES_SCHEMA
from alloypref.evaluation.figures import kl_bars
from alloypref.evaluation.kl import per_token_kl
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.registry import ModelSettings, load_trained, model_prompt

log = setup_logging(snakemake)  # injected by Snakemake
model = snakemake.wildcards.model
spec = ModelSettings.from_config(model, snakemake.params.model)
samples = read_parquet(snakemake.input.samples, SAMPLES_SCHEMA).head(snakemake.params.n)
tokenizer, sft_model = load_trained(spec, snakemake.input.sft)
_, dpo_model = load_trained(spec, snakemake.input.dpo)
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]  # the design space's: other symbols are stray letters
prompt = model_prompt(spec, tokenizer, samples["prompt"].iloc[0])
kl = per_token_kl(dpo_model, sft_model, tokenizer, prompt, list(samples["text"]), elements)
write_parquet(kl, snakemake.output.table)
kl_bars(kl, snakemake.output.figure, f"KL(DPO || SFT) per token, {model}")
log.info("KL by token group:\n%s", kl.to_string(index=False))
