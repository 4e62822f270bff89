"""Sampling completions of one prompt: one prefill, then a decode loop in which every row attends to the
one prompt cache; rows stop at EOS."""

from __future__ import annotations

import torch

from alloypref.lm.shared_prompt.causal_lm import causal_lm_of, final_logit_softcap
from alloypref.lm.shared_prompt.prompt_cache import PromptState, decode_completions, encode_prompt

#: How a token is drawn from the (filtered) distribution: "race" (exponential race) or "multinomial".
SAMPLER = "multinomial"


def _sample_next(logits: torch.Tensor, temperature: float, top_p: float, generator) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - sorted_logits.softmax(dim=-1) > top_p  # keep the first token past top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    if SAMPLER == "race":
        # exponential race: argmax p_i / E_i with E_i ~ Exp(1) is a draw from p (what vLLM does),
        # one elementwise pass instead of multinomial's per-row cumulative sums
        return (probs / torch.empty_like(probs).exponential_(generator=generator)).argmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def sample_completions(
    model,
    prompt_ids: torch.Tensor,
    n: int,
    batch_size: int = 256,
    max_new_tokens: int = 40,
    temperature: float = 1.0,
    top_p: float = 1.0,
    eos_token_id: int | None = None,
    seed: int = 0,
    progress=None,
) -> list[list[int]]:
    """``n`` sampled completions (token ids, EOS excluded) of one prompt; one prefill for all of them.

    Batch i draws from a generator seeded with ``seed + i``; a row stops at EOS, a batch when every
    row has stopped or after ``max_new_tokens``. ``temperature`` 0 decodes greedily.
    """
    causal_lm = causal_lm_of(model)
    was_training = causal_lm.training
    causal_lm.eval()
    state = encode_prompt(causal_lm, prompt_ids)
    first_logits = causal_lm.get_output_embeddings()(state.last_hidden)
    results: list[list[int]] = []
    batch_index = 0
    while len(results) < n:
        size = min(batch_size, n - len(results))
        generator = torch.Generator(device=prompt_ids.device).manual_seed(seed + batch_index)
        rows = _sample_batch(
            causal_lm, state, first_logits, size, max_new_tokens, temperature, top_p, eos_token_id, generator
        )
        for row in rows:
            if eos_token_id is not None and eos_token_id in row:
                row = row[: row.index(eos_token_id)]
            results.append(row)
        batch_index += 1
        if progress:
            progress(size)
    causal_lm.train(was_training)
    return results


def _sample_batch(
    causal_lm,
    state: PromptState,
    first_logits: torch.Tensor,
    size: int,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    eos_token_id: int | None,
    generator: torch.Generator,
) -> list[list[int]]:
    """Token ids (EOS and what follows it included) of ``size`` rows decoded against the prompt's cache."""
    from transformers import DynamicCache

    device = generator.device  # the prompt's device
    softcap = final_logit_softcap(causal_lm)
    logits = first_logits.expand(size, -1)
    if softcap is not None:
        logits = torch.tanh(logits / softcap) * softcap
    cache = DynamicCache(config=causal_lm.config)
    tokens = []
    done = torch.zeros(size, dtype=torch.bool, device=device)
    for step in range(max_new_tokens):
        token = _sample_next(logits, temperature, top_p, generator)
        tokens.append(token)
        if eos_token_id is not None:
            done |= token == eos_token_id
        if step == max_new_tokens - 1 or bool(done.all()):
            break
        hidden = decode_completions(causal_lm, state, token.unsqueeze(1), cache=cache, offset=step)
        logits = causal_lm.get_output_embeddings()(hidden[:, -1])
        if softcap is not None:
            logits = torch.tanh(logits / softcap) * softcap
    return torch.stack(tokens, dim=1).tolist()
