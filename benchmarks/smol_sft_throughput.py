"""SFT examples/s of the smol model (SmolLM2-135M-Instruct, LoRA r 8, alpha 32 on q_proj/v_proj) on CPU:
the project's shared-prompt path against TRL's plain loop, through the pipeline's own trainer
(:func:`alloypref.lm.sft.make_sft_trainer`) with config/smol.yaml's settings.

Every example is the paper's prompt (Figs. 5-6, the default design space's five elements) as the user
turn of the model's chat template, followed by a tagged BCC/B2/volume completion. Examples/s count the
examples of the optimizer steps after the first (which pays for allocation and warm-up), timed from
the end of step 1 to the end of the last step, by the wall clock and by this process's CPU time (on a
machine shared with other jobs the second is the steadier figure: examples per CPU second times the
threads bounds examples/s on idle cores). Needs the folder rule base_model materialises:

    snakemake results/smol/base_models/smollm2_135m_instruct --cores 1 --configfile config/smol.yaml
    PYTHONPATH=src nice -n 19 python benchmarks/smol_sft_throughput.py --threads 2 --steps 5

Prints ``figure <path> <name> <value>`` lines and ``speedup <name> <x>`` (shared-prompt over plain).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alloypref.design_space import completion_text, prompt_text
from alloypref.lm.registry import LoraSettings, ModelSettings, TrainSettings, model_prompt

MODEL_DIR = Path("results/smol/base_models/smollm2_135m_instruct")
ELEMENTS = ("Al", "Cr", "Mo", "Ni", "V")
BCC = ("Cr", "Mo", "V", "CrMo", "CrV", "MoV", "Cr2Mo", "CrMoV", "Mo2V", "CrV2")


def triples(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` SFT rows of the default design space's shape: one prompt, AlNi as B2, volumes 20-70 %."""
    rng = np.random.default_rng(seed)
    prompt = prompt_text(ELEMENTS, "paper")
    rows = [
        {
            "prompt": prompt,
            "completion": completion_text(BCC[i % len(BCC)], "AlNi", round(float(rng.uniform(20, 70)), 2)),
        }
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def examples_per_s(model_dir: Path, shared: bool, batch: int, steps: int, threads: int) -> dict:
    from transformers import TrainerCallback

    from alloypref.lm.sft import make_sft_trainer

    spec = ModelSettings(
        "smol",
        "gguf",
        path=str(model_dir),
        pretrained="smollm2_135m_instruct",
        chat_template=True,
        shared_prompt=shared,
        threads=threads,
        lora=LoraSettings(r=8, alpha=32, dropout=0.05, target_modules=("q_proj", "v_proj")),
        sft=TrainSettings(epochs=1, learning_rate=1e-3, batch_size=batch, max_length=256, logging_steps=1000),
    )
    ends: list[tuple[float, float]] = []  # (wall s, this process's CPU s over all its threads)

    class StepClock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            ends.append((time.perf_counter(), time.process_time()))

    with tempfile.TemporaryDirectory() as work:
        trainer = make_sft_trainer(spec, triples(batch * steps), Path(work), seed=0, eval_fraction=0.0)
        trainer.add_callback(StepClock())
        trainer.args.max_steps = steps
        trainer.train()
    tokenizer = trainer.processing_class
    prompt_tokens = len(tokenizer(model_prompt(spec, tokenizer, prompt_text(ELEMENTS, "paper")))["input_ids"])
    examples = batch * (len(ends) - 1)
    return {
        "examples_per_s": examples / (ends[-1][0] - ends[0][0]),
        "examples_per_cpu_s": examples / (ends[-1][1] - ends[0][1]),
        "timed_steps": len(ends) - 1,
        "prompt_tokens": prompt_tokens,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--batch", type=int, default=8, help="examples per optimizer step (config/smol.yaml: 8)")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per path (the first is not timed)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    import torch

    rates = {}
    for shared in (True, False):
        label = "shared_prompt" if shared else "plain"
        rates[label] = result = examples_per_s(args.model_dir, shared, args.batch, args.steps, args.threads)
        for name in ("examples_per_s", "examples_per_cpu_s"):
            print(
                f"figure sft/{label} {name} {result[name]:.3f} (batch {args.batch}, {result['timed_steps']} timed "
                f"steps, prompt {result['prompt_tokens']} tokens, {args.threads} threads, torch {torch.__version__})",
                flush=True,
            )
    for name in ("examples_per_s", "examples_per_cpu_s"):
        print(f"speedup {name} {rates['shared_prompt'][name] / rates['plain'][name]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
