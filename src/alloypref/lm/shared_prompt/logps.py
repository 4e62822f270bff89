"""Per-token log-probabilities (and statistics) of a batch of right-padded completions after one prompt:
the shared-prompt way (prompt encoded once, rows grouped by length) and, for comparison, the plain way."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from alloypref.lm.shared_prompt.causal_lm import causal_lm_of, without_checkpointing
from alloypref.lm.shared_prompt.prompt_cache import decode_completions, encode_prompt
from alloypref.lm.shared_prompt.token_stats import token_stats

#: Padded completion tokens per decoder call at least (rows of similar length are grouped).
GROUP_TOKENS = 2048


def completion_stats(
    model,
    prompt_ids: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    extras=(),
    group_tokens: int = GROUP_TOKENS,
) -> dict[str, torch.Tensor]:
    """{"log_probs": (B, C), extra: (B, C) ...} of right-padded completions after one shared prompt.

    ``prompt_ids`` (P,) is encoded once; ``completion_mask`` (B, C) is 1 on real completion tokens
    (0 on padding, where every result is 0). fp32 results whatever the model's dtype. Rows are sorted
    by length and run in groups of at least ``group_tokens`` padded tokens, each padded only to its
    own longest row (less padding, still large matrix products); the prompt state is shared by all.
    """
    causal_lm = causal_lm_of(model)
    with without_checkpointing(causal_lm):
        return _completion_stats(causal_lm, prompt_ids, completion_ids, completion_mask, extras, group_tokens)


def _completion_stats(causal_lm, prompt_ids, completion_ids, completion_mask, extras, group_tokens):
    state = encode_prompt(causal_lm, prompt_ids)
    lengths = completion_mask.sum(dim=1)
    order = torch.argsort(lengths, stable=True)
    width = completion_ids.shape[1]
    rows_per_group = max(1, group_tokens // max(1, width))
    n_groups = max(1, completion_ids.shape[0] // rows_per_group)
    groups = torch.tensor_split(order, n_groups) if n_groups > 1 else [torch.arange(len(order), device=order.device)]
    predictors, targets, rows = [], [], []
    for index in groups:
        group_width = max(1, int(lengths[index].max()))
        ids, mask = completion_ids[index, :group_width], completion_mask[index, :group_width].bool()
        hidden = decode_completions(causal_lm, state, ids)
        # the prompt's last position predicts every row's first completion token
        before = torch.cat([state.last_hidden.unsqueeze(1).expand(len(index), 1, -1), hidden[:, :-1]], dim=1)
        predictors.append(before[mask])
        targets.append(ids[mask])
        rows.append((index, mask))
    names = ("log_probs", *extras)
    columns = token_stats(causal_lm, torch.cat(predictors), torch.cat(targets), extras)
    result = {}
    for name, values in zip(names, columns):
        out = torch.zeros(completion_ids.shape, dtype=torch.float32, device=completion_ids.device)
        start = 0
        for index, mask in rows:
            count = int(mask.sum())
            block = torch.zeros(mask.shape, dtype=torch.float32, device=out.device)
            block = block.masked_scatter(mask, values[start : start + count])
            out = out.index_put((index,), F.pad(block, (0, out.shape[1] - block.shape[1])))
            start += count
        result[name] = out
    return result


def completion_logps(
    model,
    prompt_ids: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    group_tokens: int = GROUP_TOKENS,
) -> torch.Tensor:
    """Per-token log-probabilities (B, C) of right-padded completions after one shared prompt (0 on padding)."""
    return completion_stats(model, prompt_ids, completion_ids, completion_mask, (), group_tokens)["log_probs"]


def plain_completion_logps(
    model, prompt_ids: torch.Tensor, completion_ids: torch.Tensor, completion_mask: torch.Tensor
) -> torch.Tensor:
    """The same quantity as :func:`completion_logps` from an ordinary forward of prompt + completion."""
    batch = completion_ids.shape[0]
    prompt_length = prompt_ids.numel()
    ids = torch.cat([prompt_ids.reshape(1, -1).expand(batch, -1), completion_ids], dim=1)
    attention = torch.cat(
        [torch.ones(batch, prompt_length, dtype=completion_mask.dtype, device=ids.device), completion_mask], dim=1
    )
    logits = model(input_ids=ids, attention_mask=attention).logits[:, prompt_length - 1 : -1].float()
    logps = torch.log_softmax(logits, dim=-1).gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
    return logps * completion_mask


def pair_logps(model, prompt_ids, chosen_ids, chosen_mask, rejected_ids, rejected_mask, shared: bool = True):
    """Summed log-probs of chosen and rejected completions (B,) each; one prompt pass for both."""
    width = max(chosen_ids.shape[1], rejected_ids.shape[1])

    def pad(t):
        return F.pad(t, (0, width - t.shape[1]))

    ids = torch.cat([pad(chosen_ids), pad(rejected_ids)])
    mask = torch.cat([pad(chosen_mask), pad(rejected_mask)])
    logps = (completion_logps if shared else plain_completion_logps)(model, prompt_ids, ids, mask).sum(-1)
    return logps[: chosen_ids.shape[0]], logps[chosen_ids.shape[0] :]
