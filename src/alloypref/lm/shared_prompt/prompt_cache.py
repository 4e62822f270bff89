"""The prompt encoded once (batch 1, keys/values per layer kept) and completions decoded against it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alloypref.lm.shared_prompt.attention import ATTENTION_NAME, attention_implementation


@dataclass
class PromptState:
    """The prompt's per-layer (keys, values), each (1, Hkv, P, D), and its last hidden state (1, hidden)."""

    layers: list
    last_hidden: torch.Tensor
    length: int


def encode_prompt(causal_lm, prompt_ids: torch.Tensor) -> PromptState:
    """Run the prompt (P,) once (batch 1) through the decoder; keeps autograd history when enabled."""
    from transformers import DynamicCache

    ids = prompt_ids.reshape(1, -1)
    cache = DynamicCache(config=causal_lm.config)
    out = causal_lm.get_decoder()(input_ids=ids, past_key_values=cache, use_cache=True)
    cache = out.past_key_values
    layers = (
        [(layer.keys, layer.values) for layer in cache.layers]
        if hasattr(cache, "layers")
        else [(k, v) for k, v in zip(cache.key_cache, cache.value_cache)]
    )
    return PromptState(layers=layers, last_hidden=out.last_hidden_state[:, -1], length=ids.shape[1])


def decode_completions(
    causal_lm, state: PromptState, completion_ids: torch.Tensor, cache=None, offset: int = 0
) -> torch.Tensor:
    """Hidden states (B, C, hidden) of the completions (B, C) attending to the prompt's cache."""
    batch, length = completion_ids.shape
    positions = torch.arange(state.length + offset, state.length + offset + length, device=completion_ids.device)
    with attention_implementation(causal_lm, ATTENTION_NAME):
        out = causal_lm.get_decoder()(
            input_ids=completion_ids,
            position_ids=positions.unsqueeze(0).expand(batch, -1),
            past_key_values=cache,
            use_cache=cache is not None,
            shared_prefix=state.layers,
        )
    return out.last_hidden_state
