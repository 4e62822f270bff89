"""Rule sample: a trained model -> N sampled texts with their parsed triples and statuses."""

import json

from _common import setup_logging, validated_config
from tqdm import tqdm

from alloypref.design_space import SFT_SCHEMA
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.registry import ModelSpec, load_trained
from alloypref.lm.sampling import SAMPLES_SCHEMA, generate_texts, parse_samples

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
cfg = validated_config(snakemake)  # noqa: F821
model, stage = snakemake.wildcards.model, snakemake.wildcards.stage  # noqa: F821
spec = ModelSpec.from_config(model, cfg["models"][model])
prompt = read_parquet(snakemake.input.triples, SFT_SCHEMA)["prompt"].iloc[0]  # noqa: F821
with open(snakemake.input.enumeration) as handle:  # noqa: F821
    elements = json.load(handle)["elements"]
import torch  # noqa: E402 - after the cheap checks above

torch.set_num_threads(spec.threads)
tokenizer, lm = load_trained(spec, snakemake.input.model)  # noqa: F821
s = spec.sampling
seed = cfg["seed"] + (0 if stage == "sft" else 1_000_000)  # SFT and DPO draw different streams
stats = {}
if s.backend == "vllm":
    import tempfile

    from alloypref.lm.sampling import generate_texts_vllm

    with tempfile.TemporaryDirectory() as folder:  # vLLM reads a plain folder: merge a LoRA adapter first
        (lm.merge_and_unload() if hasattr(lm, "merge_and_unload") else lm).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        texts = generate_texts_vllm(folder, prompt, s.n, s.temperature, s.top_p, s.max_new_tokens, seed, stats)
else:
    with tqdm(total=s.n, desc=f"sampling {model}-{stage}", unit="gen") as bar:
        texts = generate_texts(
            lm, tokenizer, prompt, s.n, s.temperature, s.top_p, s.batch_size, s.max_new_tokens, seed, bar.update,
            shared_prompt=spec.shared_prompt, stats=stats,
        )  # fmt: skip
log.info("%s-%s: %d samples in %.1f s (%.1f samples/s, %s)", model, stage, len(texts), stats["seconds"], stats["samples_per_s"], stats["backend"])
samples = parse_samples(texts, model, stage, prompt, elements)
write_parquet(samples, snakemake.output[0], SAMPLES_SCHEMA)  # noqa: F821
log.info("%s-%s: %d samples, %s", model, stage, len(samples), samples["status"].value_counts().to_dict())
