"""TRL's fused log-prob forward routed through the shared prompt.

TRL's SFT and DPO trainers call the causal LM with ``labels`` and ``fused_lm_head=True`` and read
per-token log-probabilities from its output; :func:`enable_shared_prompt` wraps that forward so a
collated batch whose rows share one prompt (:func:`split_shared_prompt`) is computed with the prompt
encoded once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from alloypref.lm.shared_prompt.causal_lm import causal_lm_of, supports_shared_prompt
from alloypref.lm.shared_prompt.logps import completion_stats
from alloypref.lm.shared_prompt.token_stats import EXTRAS


def split_shared_prompt(input_ids: torch.Tensor, attention_mask: torch.Tensor, completion_mask: torch.Tensor):
    """(prompt (P,), completions (B, C), completion mask (B, C)) when every row starts with one prompt.

    ``input_ids`` rows are prompt + completion, right-padded; ``completion_mask`` marks the tokens that
    are scored. Returns None when rows differ in their prompt (or are left-padded), so callers fall back
    to the plain path.
    """
    completion_mask = completion_mask.bool() & attention_mask.bool()
    has_completion = completion_mask.any(dim=1)
    if not bool(has_completion.all()):
        return None
    starts = completion_mask.int().argmax(dim=1)
    start = int(starts[0])
    if start == 0 or not bool((starts == start).all()):
        return None
    prompt = input_ids[0, :start]
    if not bool((input_ids[:, :start] == prompt).all()) or not bool(attention_mask[:, :start].bool().all()):
        return None
    completion = input_ids[:, start:]
    mask = completion_mask[:, start:]
    # scored tokens must be a contiguous run from the start (right padding only)
    lengths = mask.sum(dim=1)
    expected = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0) < lengths.unsqueeze(1)
    if not bool((mask == expected).all()):
        return None
    width = int(lengths.max())
    return prompt, completion[:, :width], mask[:, :width].long()


try:  # the fields of TRL's FusedCausalLMOutput, without importing TRL
    from transformers.utils import ModelOutput
except ImportError:  # pragma: no cover - transformers always has it
    ModelOutput = object


@dataclass
class SharedPromptLMOutput(ModelOutput):
    """What TRL's ``model(..., labels=labels, fused_lm_head=True)`` returns, computed the shared-prompt way.

    Per-token fields are (B, S - 1): column j scores label j + 1, zero where that label is -100.
    """

    loss: torch.Tensor | None = None
    log_probs: torch.Tensor | None = None
    entropy: torch.Tensor | None = None
    log_sum_sq_probs: torch.Tensor | None = None
    mean_logits: torch.Tensor | None = None
    is_top1: torch.Tensor | None = None
    label_mask: torch.Tensor | None = None
    aux_loss: torch.Tensor | None = None


_PASSED_KEYS = {"input_ids", "attention_mask", "use_cache"}


def enable_shared_prompt(model) -> bool:
    """Route the fused log-prob forward of ``model`` (a TRL trainer's model) through the shared-prompt path.

    TRL's SFT and DPO trainers patch the causal LM's forward so that ``fused_lm_head=True`` returns
    per-token log-probabilities of the labels; every loss, reference pass and metric of theirs reads
    those. This wraps that forward once more: a batch whose rows all start with the same prompt,
    followed by their labelled completion (right padding), is computed with the prompt encoded once;
    any other batch, and every other call (generation, plain forwards), goes to the forward underneath.
    Returns False (and changes nothing) for models this module does not reproduce exactly.
    """
    if not supports_shared_prompt(model):
        return False
    causal_lm = causal_lm_of(model)
    if getattr(causal_lm, "_shared_prompt_enabled", False):
        return True
    underneath = causal_lm.forward

    def forward(*args, **kwargs):
        labels = kwargs.get("labels")
        if kwargs.get("fused_lm_head") and labels is not None and not args and "input_ids" in kwargs:
            # PEFT passes its unused arguments as None
            rest = {k for k, v in kwargs.items() if v is not None} - {"fused_lm_head", "labels", "num_items_in_batch"}
            mask = kwargs.get("attention_mask")
            if rest <= _PASSED_KEYS and mask is not None:
                split = split_shared_prompt(kwargs["input_ids"], mask, labels != -100)
                if split is not None:
                    return _fused_output(causal_lm, split, labels, kwargs.get("num_items_in_batch"))
        return underneath(*args, **kwargs)

    causal_lm.forward = forward
    causal_lm._shared_prompt_enabled = True
    return True


def _fused_output(causal_lm, split, labels, num_items_in_batch) -> SharedPromptLMOutput:
    prompt, completion, mask = split
    stats = completion_stats(causal_lm, prompt, completion, mask, EXTRAS)
    first = prompt.numel() - 1  # column of log p(first completion token)
    columns = labels.shape[1] - 1

    def place(values):
        return F.pad(values, (first, columns - first - values.shape[1]))

    label_mask = labels[:, 1:] != -100
    log_probs = place(stats["log_probs"])
    denominator = label_mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return SharedPromptLMOutput(
        loss=-log_probs.sum() / denominator,
        log_probs=log_probs,
        entropy=place(stats["entropy"]),
        log_sum_sq_probs=place(stats["log_sum_sq_probs"]),
        mean_logits=place(stats["mean_logits"]),
        is_top1=place(stats["is_top1"]).bool(),
        label_mask=label_mask,
    )
