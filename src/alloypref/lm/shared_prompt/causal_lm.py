"""The parts of a model the shared-prompt path works on: the causal LM inside a (PEFT) wrapper, whether
its family is supported, its final-logit soft-capping, and a switch for activation checkpointing."""

from __future__ import annotations

import contextlib


def causal_lm_of(model):
    """The transformers ``...ForCausalLM`` inside ``model`` (a PEFT wrapper or the model itself)."""
    inner = model
    while hasattr(inner, "get_base_model") and inner.get_base_model() is not inner:
        inner = inner.get_base_model()
    if not hasattr(inner, "get_decoder") or inner.get_output_embeddings() is None:
        raise TypeError(f"{type(model).__name__} is not a causal language model with a decoder and an LM head")
    return inner


def supports_shared_prompt(model) -> bool:
    """True for decoder-only models whose attention this package reproduces exactly."""
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


def final_logit_softcap(causal_lm):
    """The model's final-logit soft-capping value (Gemma-2), or None."""
    return getattr(causal_lm.config, "final_logit_softcapping", None)


@contextlib.contextmanager
def without_checkpointing(causal_lm):
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
