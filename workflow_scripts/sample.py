"""Rules sample and fresh_samples: a trained model -> N sampled texts with their parsed triples and
statuses (fresh_samples: cut into batches of `fresh_batch` samples, column `batch`)."""

import json

from _common import setup_logging

from alloypref.completion.parsing import SAMPLES_SCHEMA, parse_samples
from alloypref.design_space import SFT_SCHEMA
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.registry import ModelSettings, load_trained, model_prompt
from alloypref.lm.sampling import generate_texts
from alloypref.progress import ProgressLog

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
model, stage = snakemake.wildcards.model, snakemake.wildcards.stage
overrides = dict(params.stage)  # the stage's seed, and a round's temperature and sample count
seed = overrides.pop("seed")
fresh_batch = overrides.pop("fresh_batch", None)  # rule fresh_samples: samples per batch
entry = dict(params.model)
entry["sampling"] = {**entry.get("sampling", {}), **overrides}
spec = ModelSettings.from_config(model, entry)
prompt = read_parquet(snakemake.input.triples, SFT_SCHEMA)["prompt"].iloc[0]
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]
import torch  # noqa: E402 - after the cheap checks above

torch.set_num_threads(spec.threads)
tokenizer, lm = load_trained(spec, snakemake.input.model)
s = spec.sampling
stats = {}
model_text = model_prompt(spec, tokenizer, prompt)  # the samples table keeps the instruction itself
if s.backend == "vllm":
    import tempfile

    from alloypref.lm.sampling import generate_texts_vllm

    with tempfile.TemporaryDirectory() as folder:  # vLLM reads a plain folder: merge a LoRA adapter first
        (lm.merge_and_unload() if hasattr(lm, "merge_and_unload") else lm).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        texts = generate_texts_vllm(folder, model_text, s.n, s.temperature, s.top_p, s.max_new_tokens, seed, stats)
else:
    progress = ProgressLog(s.n, f"sampling {model}-{stage}", log, unit="samples")
    texts = generate_texts(
        lm,
        tokenizer,
        model_text,
        s.n,
        s.temperature,
        s.top_p,
        s.batch_size,
        s.max_new_tokens,
        seed,
        progress,
        shared_prompt=spec.shared_prompt,
        stats=stats,
    )
log.info(
    "%s-%s: %d samples in %.1f s (%.1f samples/s, %s)",
    model,
    stage,
    len(texts),
    stats["seconds"],
    stats["samples_per_s"],
    stats["backend"],
)
samples = parse_samples(texts, model, stage, prompt, elements)
if fresh_batch:
    from alloypref.evaluation.set_metrics import FRESH_SAMPLES_SCHEMA

    samples["batch"] = samples.index // fresh_batch
    write_parquet(samples, snakemake.output[0], FRESH_SAMPLES_SCHEMA)
else:
    write_parquet(samples, snakemake.output[0], SAMPLES_SCHEMA)
log.info("%s-%s: %d samples, %s", model, stage, len(samples), samples["status"].value_counts().to_dict())
