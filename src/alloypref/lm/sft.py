"""Supervised fine-tuning with TRL's ``SFTTrainer`` (prompt/completion data, loss on the completion)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from alloypref.io import atomic_directory
from alloypref.lm.curves import logging_callback
from alloypref.lm.registry import (
    ModelSettings,
    build_tiny_model,
    cuda_available,
    load_local_model,
    lora_config,
    model_prompt,
    use_bf16,
)

log = logging.getLogger(__name__)


def split_eval(frame: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Hold out ``fraction`` of the rows (at least one when > 0) for evaluation curves."""
    if fraction <= 0 or len(frame) < 10:
        return frame, None
    n_eval = max(1, int(round(fraction * len(frame))))
    shuffled = frame.sample(frac=1.0, random_state=seed)
    return shuffled.iloc[n_eval:].reset_index(drop=True), shuffled.iloc[:n_eval].reset_index(drop=True)


def common_training_arguments(spec: ModelSettings, stage, output_dir: Path, seed: int, has_eval: bool) -> dict:
    """Settings shared by SFTConfig and DPOConfig; TRL's GPU defaults are switched off on CPU."""
    cuda = cuda_available()
    return {
        "output_dir": str(output_dir),
        "num_train_epochs": stage.epochs,
        "per_device_train_batch_size": stage.batch_size,
        "per_device_eval_batch_size": stage.batch_size,
        "gradient_accumulation_steps": stage.gradient_accumulation_steps,
        "learning_rate": stage.learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_steps": stage.warmup_steps,
        "logging_steps": stage.logging_steps,
        "eval_strategy": "epoch" if has_eval else "no",
        "save_strategy": "no",
        "report_to": "none",
        "seed": seed,
        "data_seed": seed,
        "bf16": use_bf16(spec),
        "fp16": False,
        "gradient_checkpointing": False,
        "use_cpu": not cuda,
        "dataloader_num_workers": 0,
        "max_length": stage.max_length,
    }


def make_sft_trainer(
    spec: ModelSettings, triples: pd.DataFrame, work_dir: Path, seed: int, eval_fraction: float = 0.05
):
    """A ready ``SFTTrainer`` (with its tokenizer as ``processing_class``) for ``spec`` on the SFT triples."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    torch.set_num_threads(spec.threads)
    if spec.source == "tiny":
        from alloypref.lm.tokenizer import build_formula_tokenizer

        corpus = list(triples["prompt"].unique()) + list(triples["completion"])
        tokenizer = build_formula_tokenizer(corpus, spec.tiny.vocab_size)
        model = build_tiny_model(spec, tokenizer, seed)
        peft = None
    else:
        tokenizer, model = load_local_model(spec)
        peft = lora_config(spec)
    log.info("model %s: %.2fM parameters", spec.name, sum(p.numel() for p in model.parameters()) / 1e6)
    data = triples[["prompt", "completion"]].assign(
        prompt=[model_prompt(spec, tokenizer, p) for p in triples["prompt"]]
    )
    train, evaluation = split_eval(data, eval_fraction, seed)
    args = SFTConfig(
        **common_training_arguments(spec, spec.sft, work_dir, seed, evaluation is not None),
        completion_only_loss=True,
        packing=False,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_pandas(train, preserve_index=False),
        eval_dataset=Dataset.from_pandas(evaluation, preserve_index=False) if evaluation is not None else None,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=[logging_callback("sft")],
    )
    if spec.shared_prompt:
        from alloypref.lm.shared_prompt.fused_forward import enable_shared_prompt

        log.info(
            "model %s: shared-prompt SFT %s", spec.name, "on" if enable_shared_prompt(trainer.model) else "unsupported"
        )
    return trainer


def train_sft(
    spec: ModelSettings, triples: pd.DataFrame, output_dir: Path, work_dir: Path, seed: int, eval_fraction: float = 0.05
):
    """Fine-tune ``spec`` on the SFT triples; save model (or adapter) and tokenizer in ``output_dir``.

    Returns the trainer's log history.
    """
    trainer = make_sft_trainer(spec, triples, work_dir, seed, eval_fraction)
    trainer.train()
    with atomic_directory(Path(output_dir)) as saving:  # a kill mid-save leaves no half model
        trainer.save_model(str(saving))
        trainer.processing_class.save_pretrained(str(saving))
    return trainer.state.log_history
