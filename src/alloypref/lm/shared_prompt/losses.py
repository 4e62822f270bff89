"""Training losses on the shared-prompt log-probabilities: SFT (completion tokens only) and DPO (sigmoid)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from alloypref.lm.shared_prompt.logps import completion_logps


def sft_loss(
    model, prompt_ids, completion_ids, completion_mask, num_items: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Mean negative log-likelihood of the completion tokens (sum / ``num_items`` when given)."""
    logps = completion_logps(model, prompt_ids, completion_ids, completion_mask)
    denominator = completion_mask.sum() if num_items is None else num_items
    return -logps.sum() / denominator


def dpo_sigmoid_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta: float) -> torch.Tensor:
    """The DPO loss -log sigmoid(beta * (policy margin - reference margin)), per pair (sequence log-probs)."""
    logits = (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected)
    return -F.logsigmoid(beta * logits)
