"""The language-model head and cross-entropy on selected positions only, in chunks: per-token log p(target)
and, without gradient, further statistics (entropy, top-1 hit, mean logit, log sum of squared probabilities).

With gradients enabled each chunk is recomputed in the backward pass, so the (tokens x vocabulary) fp32
logits of a 128k vocabulary are never held for the whole batch.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from alloypref.lm.shared_prompt.causal_lm import final_logit_softcap

#: Tokens per chunk of the language-model head + cross-entropy (chunk x vocabulary fp32 logits at a time).
LOGIT_CHUNK = 2048

#: Per-token statistics besides log p(label) that the fused output can carry (computed without gradient).
EXTRAS = ("entropy", "is_top1", "mean_logits", "log_sum_sq_probs")


def _chunk_stats(lm_head, hidden, targets, softcap, extras):
    logits = lm_head(hidden).float()
    if softcap is not None:
        logits = torch.tanh(logits / softcap) * softcap
    normaliser = torch.logsumexp(logits, dim=-1)
    out = [logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - normaliser]
    with torch.no_grad():
        for name in extras:
            if name == "entropy":
                out.append(normaliser - (logits.softmax(dim=-1) * logits).sum(dim=-1))
            elif name == "is_top1":
                out.append((logits.argmax(dim=-1) == targets).float())
            elif name == "mean_logits":
                out.append(logits.mean(dim=-1))
            elif name == "log_sum_sq_probs":
                out.append(torch.logsumexp(2 * (logits - normaliser.unsqueeze(-1)), dim=-1))
    return tuple(out)


def token_stats(causal_lm, hidden: torch.Tensor, targets: torch.Tensor, extras=(), chunk: int = LOGIT_CHUNK) -> list:
    """[log p(target), *extras] for hidden (N, hidden) and targets (N,); the LM head runs ``chunk`` rows at a time.

    With gradients enabled each chunk is recomputed in the backward pass, so only one chunk's
    (chunk x vocabulary) logits exist at a time. ``extras`` are names from :data:`EXTRAS`.
    """
    lm_head, softcap = causal_lm.get_output_embeddings(), final_logit_softcap(causal_lm)
    extras = tuple(extras)
    parts = []
    for start in range(0, hidden.shape[0], chunk):
        h, t = hidden[start : start + chunk], targets[start : start + chunk]
        if torch.is_grad_enabled() and h.requires_grad:
            parts.append(checkpoint(_chunk_stats, lm_head, h, t, softcap, extras, use_reentrant=False))
        else:
            parts.append(_chunk_stats(lm_head, h, t, softcap, extras))
    if not parts:
        return [hidden.new_zeros(0, dtype=torch.float32) for _ in range(1 + len(extras))]
    return [torch.cat(column) for column in zip(*parts)]


def token_logps(causal_lm, hidden: torch.Tensor, targets: torch.Tensor, chunk: int = LOGIT_CHUNK) -> torch.Tensor:
    """log p(target) for hidden (N, hidden) and targets (N,) (see :func:`token_stats`)."""
    return token_stats(causal_lm, hidden, targets, (), chunk)[0]
