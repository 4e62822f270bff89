"""Direct preference optimisation with TRL's ``DPOTrainer`` (beta = 0.5, one epoch by default).

Reference model = the SFT model, never the base model:

* tiny (full weights): the SFT model is loaded twice, once trainable and once as the frozen reference;
* LoRA models: the SFT adapter is loaded trainable on the base model and passed without a
  reference; TRL 1.16 then copies that adapter into a frozen ``ref`` adapter and computes the
  reference log-probabilities with it (the adapter loaded twice). Disabling the adapter would give
  the base model as reference, which is wrong; :func:`reference_is_sft` checks this.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from alloypref.io import atomic_directory
from alloypref.lm.curves import logging_callback
from alloypref.lm.registry import ModelSpec, load_trained
from alloypref.lm.sft import common_training_arguments, split_eval

log = logging.getLogger(__name__)


def make_dpo_trainer(
    spec: ModelSpec, sft_dir: Path, pairs: pd.DataFrame, work_dir: Path, seed: int, eval_fraction: float = 0.05
):
    """A ready ``DPOTrainer`` continuing from the SFT model in ``sft_dir``."""
    import torch
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    torch.set_num_threads(spec.threads)
    tokenizer, model = load_trained(spec, sft_dir, trainable=True)
    ref_model = None if spec.uses_lora else load_trained(spec, sft_dir)[1]
    train, evaluation = split_eval(pairs[["prompt", "chosen", "rejected"]], eval_fraction, seed)
    args = DPOConfig(
        **common_training_arguments(spec, spec.dpo, work_dir, seed, evaluation is not None), beta=spec.dpo.beta
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=Dataset.from_pandas(train, preserve_index=False),
        eval_dataset=Dataset.from_pandas(evaluation, preserve_index=False) if evaluation is not None else None,
        processing_class=tokenizer,
        callbacks=[logging_callback("dpo")],
    )
    if spec.shared_prompt:
        from alloypref.lm.shared_prompt import enable_shared_prompt

        # the policy and the reference (a second model, or the "ref" adapter of the same one) alike
        models = [trainer.model] + ([trainer.ref_model] if trainer.ref_model is not None else [])
        log.info(
            "model %s: shared-prompt DPO %s",
            spec.name,
            "on" if all(enable_shared_prompt(m) for m in models) else "unsupported",
        )
    return trainer


def reference_is_sft(trainer) -> bool:
    """True when the trainer's reference is a copy of the SFT weights (not the base model)."""
    import torch

    model = trainer.model
    if trainer.ref_model is not None:
        reference = dict(trainer.ref_model.named_parameters())
        return all(torch.equal(p, reference[n]) for n, p in model.named_parameters() if n in reference)
    config = getattr(model, "peft_config", {})
    if "ref" not in config:
        return False
    for name, param in model.named_parameters():
        if ".default." in name:
            if not torch.equal(param, model.get_parameter(name.replace(".default.", ".ref."))):
                return False
    return True


def preference_margin(model, tokenizer, pairs: pd.DataFrame) -> float:
    """Mean over pairs of log p(chosen | prompt) - log p(rejected | prompt) (nats) under ``model``.

    Completions are scored token by token after the prompt as every stage encodes it, each followed
    by EOS (as TRL appends it in training). DPO should raise this on the pairs it trained on.
    """
    import torch

    from alloypref.lm.sampling import prompt_ids

    device = next(model.parameters()).device
    model.eval()

    def log_prob(prompt: str, completion: str) -> float:
        context = prompt_ids(tokenizer, prompt)
        target = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = torch.tensor([context + target], device=device)
        with torch.no_grad():
            log_p = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
        positions = torch.arange(len(context) - 1, ids.shape[1] - 1, device=device)
        return float(log_p[positions, ids[0, positions + 1]].sum())

    margins = [log_prob(r.prompt, r.chosen) - log_prob(r.prompt, r.rejected) for r in pairs.itertuples(index=False)]
    return float(sum(margins) / len(margins))


def train_dpo(
    spec: ModelSpec,
    sft_dir: Path,
    pairs: pd.DataFrame,
    output_dir: Path,
    work_dir: Path,
    seed: int,
    eval_fraction: float = 0.05,
):
    """Run DPO and save the model (tiny) or the trained adapter (LoRA) with its tokenizer."""
    if pairs.empty:
        raise ValueError(f"model {spec.name}: no preference pairs; sample more or lower pairs.top_fraction")
    trainer = make_dpo_trainer(spec, sft_dir, pairs, work_dir, seed, eval_fraction)
    if not reference_is_sft(trainer):
        raise RuntimeError(f"model {spec.name}: the DPO reference is not the SFT model")
    trainer.train()
    with atomic_directory(Path(output_dir)) as saving:  # a kill mid-save leaves no half model
        if spec.uses_lora:
            trainer.model.save_pretrained(str(saving), selected_adapters=["default"])
        else:
            trainer.save_model(str(saving))
        trainer.processing_class.save_pretrained(str(saving))
    return trainer.state.log_history
