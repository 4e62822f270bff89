"""Direct preference optimisation with TRL's ``DPOTrainer`` (beta = 0.5, one epoch by default).

With ``sft_weight`` > 0 (config ``models.<name>.dpo.sft_weight``) the loss adds that weight times
the chosen completions' negative log-likelihood (RPO): DPO alone can raise the margin by lowering the
chosen and the rejected completion together, so probability mass leaves the data for completions no
pair shows; the SFT term keeps the chosen completions likely.

Training starts from a policy (the SFT model, or an earlier round's policy in iterative DPO) and the
reference model is a trained model too — the SFT model by default, never the base model:

* tiny (full weights): the policy is loaded trainable and the reference loaded frozen beside it;
* LoRA models: the policy's adapter is loaded trainable on the base model and passed without a
  reference; TRL 1.16 then copies that adapter into a frozen ``ref`` adapter and computes the
  reference log-probabilities with it. When the reference is another model than the policy (round
  r > 1 with ``iterative_dpo.reference: sft``), the reference's adapter weights are loaded into that
  ``ref`` adapter. Disabling the adapter would give the base model as reference, which is wrong;
  :func:`reference_is_sft` checks the reference is the one asked for.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from alloypref.lm.curves import logging_callback
from alloypref.lm.registry import ModelSettings, load_trained, model_prompt, save_policy
from alloypref.lm.sft import common_training_arguments, split_eval

log = logging.getLogger(__name__)


def dpo_loss_arguments(sft_weight: float) -> dict:
    """TRL ``DPOConfig`` arguments of the loss: the sigmoid DPO loss alone when ``sft_weight`` is 0;
    otherwise plus ``sft_weight`` times TRL's ``sft`` loss, the chosen completions' mean negative
    log-likelihood (nats per token) — RPO; TRL 1.x has no ``rpo_alpha``, this is its replacement."""
    if not sft_weight >= 0:
        raise ValueError(f"config key models.<name>.dpo.sft_weight must be >= 0, got {sft_weight}")
    if sft_weight == 0:
        return {"loss_type": ["sigmoid"]}
    return {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, float(sft_weight)]}


def make_dpo_trainer(
    spec: ModelSettings,
    sft_dir: Path,
    pairs: pd.DataFrame,
    work_dir: Path,
    seed: int,
    eval_fraction: float = 0.05,
    reference_dir: Path | None = None,
):
    """A ready ``DPOTrainer`` continuing from the model in ``sft_dir`` (the policy), with the model
    in ``reference_dir`` (default: the same) as its frozen reference."""
    import torch
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    torch.set_num_threads(spec.threads)
    tokenizer, model = load_trained(spec, sft_dir, trainable=True)
    reference_dir = reference_dir or sft_dir
    ref_model = None if spec.uses_lora else load_trained(spec, reference_dir)[1]
    data = pairs[["prompt", "chosen", "rejected"]].assign(
        prompt=[model_prompt(spec, tokenizer, p) for p in pairs["prompt"]]
    )
    train, evaluation = split_eval(data, eval_fraction, seed)
    args = DPOConfig(
        **common_training_arguments(spec, spec.dpo, work_dir, seed, evaluation is not None),
        beta=spec.dpo.beta,
        **dpo_loss_arguments(spec.dpo.sft_weight),
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
    if spec.uses_lora and Path(reference_dir) != Path(sft_dir):
        from peft import load_peft_weights, set_peft_model_state_dict

        set_peft_model_state_dict(trainer.model, load_peft_weights(str(reference_dir)), adapter_name="ref")
    if spec.shared_prompt:
        from alloypref.lm.shared_prompt.fused_forward import enable_shared_prompt

        # the policy and the reference (a second model, or the "ref" adapter of the same one) alike
        models = [trainer.model] + ([trainer.ref_model] if trainer.ref_model is not None else [])
        log.info(
            "model %s: shared-prompt DPO %s",
            spec.name,
            "on" if all(enable_shared_prompt(m) for m in models) else "unsupported",
        )
    return trainer


def reference_is_sft(trainer, same_as_policy: bool = True) -> bool:
    """True when the trainer's reference is a trained model, not the base model: a copy of the
    policy's starting weights (``same_as_policy``), or a separate reference that differs from them."""
    import torch

    model = trainer.model
    if not same_as_policy:
        if trainer.ref_model is not None:
            return True  # loaded from the reference folder by make_dpo_trainer
        return "ref" in getattr(model, "peft_config", {})
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
    spec: ModelSettings,
    sft_dir: Path,
    pairs: pd.DataFrame,
    output_dir: Path,
    work_dir: Path,
    seed: int,
    eval_fraction: float = 0.05,
    reference_dir: Path | None = None,
):
    """Run DPO from the policy in ``sft_dir`` against the reference in ``reference_dir`` (default: the
    same model) and save the model (tiny) or the trained adapter (LoRA) with its tokenizer."""
    if pairs.empty:
        raise ValueError(
            f"model {spec.name}: no preference pairs. Pairs come only from samples scored on a database trusted for "
            "their elements (the pairs job's log counts them); sample more (models.<name>.sampling.n, "
            "iterative_dpo.samples_per_round) or raise pairs.top_fraction"
        )
    trainer = make_dpo_trainer(spec, sft_dir, pairs, work_dir, seed, eval_fraction, reference_dir)
    same = reference_dir is None or Path(reference_dir) == Path(sft_dir)
    if not reference_is_sft(trainer, same):
        raise RuntimeError(f"model {spec.name}: the DPO reference is not the trained model it should be")
    trainer.train()
    save_policy(trainer, spec, output_dir)
    return trainer.state.log_history
