"""Shared-prompt training and sampling: the prompt is encoded once per batch, not once per row.

Every SFT example and every DPO pair of this pipeline carries the same instruction prompt (~160 tokens
for the paper's template) and a short completion (~30 tokens), so a plain batch spends most of its
compute re-encoding identical prompts. Here:

* the prompt runs through the decoder once, at batch size 1, keeping its keys/values per layer
  (with their autograd history, so LoRA weights at the prompt positions get the same gradients as in
  the plain path: the batch's contributions are summed by autograd instead of by the optimizer);
* the completions of the whole batch then run through the decoder with an attention function that
  attends to the prompt's keys/values (batch 1, never copied over the batch) and to the completion's
  own keys causally, with one softmax over both, which is the same arithmetic as full attention over
  prompt + completion;
* the language-model head and the cross-entropy run only on the positions that predict completion
  tokens, in chunks, each recomputed in the backward pass, so the (tokens x vocabulary) logits of a
  128k vocabulary are never held for the whole batch.

Sampling reuses the same pieces: one prefill of the prompt, then a decode loop in which every row
attends to the one prompt cache; rows stop at EOS.

Supported models are decoder-only Hugging Face causal LMs whose attention layers call the
``AttentionInterface`` (Llama, Mistral, Qwen2, OLMo-2, Gemma-2 below its sliding window). The module
needs only torch and transformers (PEFT models are unwrapped by duck typing).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

ATTENTION_NAME = "alloypref_shared_prefix"
#: Tokens per chunk of the language-model head + cross-entropy (chunk x vocabulary fp32 logits at a time).
LOGIT_CHUNK = 2048
#: Padded completion tokens per decoder call at least (rows of similar length are grouped).
GROUP_TOKENS = 2048


# -- attention over a shared prefix ------------------------------------------------------------


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


#: How the completions attend: "sdpa" (PyTorch's fused kernels: flash attention on CUDA, with the prefix
#: keys/values concatenated in front of each row's own, lower-right causal) or "manual" (two matrix
#: products and one softmax over prefix + own scores; the prefix is never copied over the batch).
#: Decoding one token at a time always takes the manual path, where copying the prefix would dominate.
KERNEL = "sdpa"


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
def _attention(causal_lm, name: str):
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


@contextlib.contextmanager
def _without_checkpointing(causal_lm):
    """Switch activation checkpointing of the decoder layers off for the block.

    Checkpointed layers drop the KV cache (the prompt's cache would be lost) and, with reentrant
    checkpointing, do not pass gradients through keyword arguments (the prompt's keys/values). The
    shared-prompt pass keeps ~30 completion tokens per row instead of ~190, so it needs it least.
    """
    layers = [m for m in causal_lm.modules() if getattr(m, "gradient_checkpointing", False) is True]
    try:
        for layer in layers:
            layer.gradient_checkpointing = False
        yield
    finally:
        for layer in layers:
            layer.gradient_checkpointing = True


# -- model parts ---------------------------------------------------------------------------------


def causal_lm_of(model):
    """The transformers ``...ForCausalLM`` inside ``model`` (a PEFT wrapper or the model itself)."""
    inner = model
    while hasattr(inner, "get_base_model") and inner.get_base_model() is not inner:
        inner = inner.get_base_model()
    if not hasattr(inner, "get_decoder") or inner.get_output_embeddings() is None:
        raise TypeError(f"{type(model).__name__} is not a causal language model with a decoder and an LM head")
    return inner


def supports_shared_prompt(model) -> bool:
    """True for decoder-only models whose attention this module reproduces exactly."""
    try:
        config = causal_lm_of(model).config
    except TypeError:
        return False
    return getattr(config, "model_type", "") in {
        "llama",
        "mistral",
        "qwen2",
        "qwen3",
        "olmo",
        "olmo2",
        "gemma",
        "gemma2",
    } and not getattr(config, "is_encoder_decoder", False)


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
    with _attention(causal_lm, ATTENTION_NAME):
        out = causal_lm.get_decoder()(
            input_ids=completion_ids,
            position_ids=positions.unsqueeze(0).expand(batch, -1),
            past_key_values=cache,
            use_cache=cache is not None,
            shared_prefix=state.layers,
        )
    return out.last_hidden_state


def _final_softcap(causal_lm):
    return getattr(causal_lm.config, "final_logit_softcapping", None)


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
    lm_head, softcap = causal_lm.get_output_embeddings(), _final_softcap(causal_lm)
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


# -- training losses -----------------------------------------------------------------------------


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
    with _without_checkpointing(causal_lm):
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


def pair_logps(model, prompt_ids, chosen_ids, chosen_mask, rejected_ids, rejected_mask, shared: bool = True):
    """Summed log-probs of chosen and rejected completions (B,) each; one prompt pass for both."""
    width = max(chosen_ids.shape[1], rejected_ids.shape[1])

    def pad(t):
        return F.pad(t, (0, width - t.shape[1]))

    ids = torch.cat([pad(chosen_ids), pad(rejected_ids)])
    mask = torch.cat([pad(chosen_mask), pad(rejected_mask)])
    logps = (completion_logps if shared else plain_completion_logps)(model, prompt_ids, ids, mask).sum(-1)
    return logps[: chosen_ids.shape[0]], logps[chosen_ids.shape[0] :]


# -- splitting a collated batch ------------------------------------------------------------------


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


# -- TRL's fused forward -------------------------------------------------------------------------

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


# -- sampling ------------------------------------------------------------------------------------


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


#: How a token is drawn from the (filtered) distribution: "race" (exponential race) or "multinomial".
SAMPLER = "multinomial"


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
    from transformers import DynamicCache

    causal_lm = causal_lm_of(model)
    was_training = causal_lm.training
    causal_lm.eval()
    device = prompt_ids.device
    state = encode_prompt(causal_lm, prompt_ids)
    first_logits = causal_lm.get_output_embeddings()(state.last_hidden)
    softcap = _final_softcap(causal_lm)
    results: list[list[int]] = []
    batch_index = 0
    while len(results) < n:
        size = min(batch_size, n - len(results))
        generator = torch.Generator(device=device).manual_seed(seed + batch_index)
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
        rows = torch.stack(tokens, dim=1).tolist()
        for row in rows:
            if eos_token_id is not None and eos_token_id in row:
                row = row[: row.index(eos_token_id)]
            results.append(row)
        batch_index += 1
        if progress:
            progress(size)
    causal_lm.train(was_training)
    return results
