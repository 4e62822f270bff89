"""Attention of a batch of completions over one shared, batch-1 prompt prefix plus their own causal keys.

The function is registered with transformers' ``AttentionInterface`` (and a mask function that builds
nothing) under :data:`ATTENTION_NAME` when this module is imported; :func:`attention_implementation`
switches a model to it for the duration of a block.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

ATTENTION_NAME = "alloypref_shared_prefix"

#: How the completions attend: "sdpa" (PyTorch's fused kernels: flash attention on CUDA, with the prefix
#: keys/values concatenated in front of each row's own, lower-right causal) or "manual" (two matrix
#: products and one softmax over prefix + own scores; the prefix is never copied over the batch).
#: Decoding one token at a time always takes the manual path, where copying the prefix would dominate.
KERNEL = "sdpa"


def shared_prefix_attention(
    module,
    query,
    key,
    value,
    attention_mask,
    scaling=None,
    dropout=0.0,
    shared_prefix=None,
    softcap=None,
    sliding_window=None,
    **kwargs,
):
    """Attention of ``query`` (B, Hq, L, D) over a batch-1 prefix plus its own causal keys.

    ``shared_prefix`` is a list (one per layer) of (keys, values), each (1, Hkv, P, D); ``key`` and
    ``value`` (B, Hkv, T, D) are the batch's own keys/values so far (T >= L, the last L belong to the
    queries). ``attention_mask`` is ignored: the rows are right-padded, so a padded position only
    ever follows the real tokens of its row. Returns (B, L, Hq, D) like the library's functions.
    """
    if shared_prefix is None:
        raise RuntimeError("shared-prefix attention called without shared_prefix=")
    if dropout:
        raise NotImplementedError("shared-prefix attention does not implement attention dropout")
    prefix_key, prefix_value = shared_prefix[module.layer_idx]
    batch, q_heads, length, dim = query.shape
    if KERNEL == "sdpa" and length > 1 and softcap is None and sliding_window is None:
        return _prefix_sdpa(query, key, value, prefix_key, prefix_value, scaling)
    kv_heads, own = key.shape[1], key.shape[2]
    prefix = prefix_key.shape[2]
    if sliding_window is not None and prefix + own > sliding_window:
        raise NotImplementedError(f"sequence of {prefix + own} tokens exceeds the sliding window {sliding_window}")
    groups = q_heads // kv_heads
    scaling = dim**-0.5 if scaling is None else scaling
    q = query.view(batch, kv_heads, groups, length, dim)
    # prefix part: all rows' queries against the one prefix, as a single (Hkv)-batched matmul
    q_flat = q.permute(1, 0, 2, 3, 4).reshape(kv_heads, batch * groups * length, dim)
    prefix_scores = torch.matmul(q_flat, prefix_key[0].transpose(-1, -2)) * scaling
    prefix_scores = prefix_scores.view(kv_heads, batch, groups, length, prefix).permute(1, 0, 2, 3, 4)
    # own part: the g query heads of a key/value head stacked along the query axis, so the matmul
    # reads each row's keys in place instead of broadcasting (and copying) them g times
    own_scores = torch.matmul(q.reshape(batch, kv_heads, groups * length, dim), key.transpose(-1, -2)) * scaling
    own_scores = own_scores.view(batch, kv_heads, groups, length, own)
    scores = torch.cat([prefix_scores, own_scores], dim=-1)
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    visible = torch.ones(length, own, dtype=torch.bool, device=query.device).tril(own - length)
    visible = torch.cat([torch.ones(length, prefix, dtype=torch.bool, device=query.device), visible], dim=-1)
    scores = scores.masked_fill(~visible, float("-inf"))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    prefix_probs, own_probs = probs.split([prefix, own], dim=-1)
    prefix_probs = prefix_probs.permute(1, 0, 2, 3, 4).reshape(kv_heads, batch * groups * length, prefix)
    out = torch.matmul(prefix_probs, prefix_value[0]).view(kv_heads, batch, groups, length, dim).permute(1, 0, 2, 3, 4)
    own_out = torch.matmul(own_probs.reshape(batch, kv_heads, groups * length, own), value)
    out = out + own_out.view(batch, kv_heads, groups, length, dim)
    return out.reshape(batch, q_heads, length, dim).transpose(1, 2).contiguous(), None


def _prefix_sdpa(query, key, value, prefix_key, prefix_value, scaling):
    """Attention through ``scaled_dot_product_attention`` with a lower-right causal mask over prefix + own keys."""
    from torch.nn.attention.bias import causal_lower_right

    batch, length = query.shape[0], query.shape[2]
    keys = torch.cat([prefix_key.expand(batch, -1, -1, -1), key], dim=2)
    values = torch.cat([prefix_value.expand(batch, -1, -1, -1), value], dim=2)
    out = F.scaled_dot_product_attention(
        query,
        keys,
        values,
        attn_mask=causal_lower_right(length, keys.shape[2]),
        scale=scaling,
        enable_gqa=query.shape[1] != keys.shape[1],
    )
    return out.transpose(1, 2).contiguous(), None


def _no_mask(*args, **kwargs):
    """The shared-prefix attention builds its own causal pattern."""
    return None


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTENTION_NAME, shared_prefix_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, _no_mask)


_register()


@contextlib.contextmanager
def attention_implementation(causal_lm, name: str):
    """Switch the model's attention implementation to ``name`` for the duration of the block."""
    configs = {
        id(m.config): m.config
        for m in causal_lm.modules()
        if hasattr(m, "config") and hasattr(m.config, "_attn_implementation")
    }
    saved = {key: config._attn_implementation for key, config in configs.items()}
    try:
        for config in configs.values():
            config._attn_implementation = name
        yield
    finally:
        for key, config in configs.items():
            config._attn_implementation = saved[key]
