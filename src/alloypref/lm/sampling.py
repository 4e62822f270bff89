"""Batched sampling of completion texts from a model: the shared-prompt sampler, ``model.generate``, or vLLM.

The texts are parsed into the samples table by :mod:`alloypref.completion.parsing`.
"""

from __future__ import annotations


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """Token ids of ``prompt`` as every stage sees it: with the tokenizer's own special tokens (a BOS
    where the tokenizer adds one), as TRL's SFT tokenisation and :func:`generate_texts` encode it."""
    return list(tokenizer(prompt)["input_ids"])


class SamplingBackendError(RuntimeError):
    """A configured sampling backend that cannot run here; the message says what to change."""


def generate_texts(
    model,
    tokenizer,
    prompt: str,
    n: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    batch_size: int = 64,
    max_new_tokens: int = 40,
    seed: int = 0,
    progress=None,
    shared_prompt: bool = True,
    stats: dict | None = None,
) -> list[str]:
    """``n`` samples of the completion of ``prompt``; batch i is seeded with ``seed + i``.

    With ``shared_prompt`` (and a model :mod:`alloypref.lm.shared_prompt` supports) the prompt is
    encoded once for all ``n`` samples and every row of a batch decodes against that one cache,
    stopping at EOS; otherwise each batch goes through ``model.generate``. ``stats``, when given,
    receives the backend used, the seconds taken and samples/s.
    """
    import time

    import torch

    from alloypref.lm.shared_prompt.causal_lm import supports_shared_prompt
    from alloypref.lm.shared_prompt.sampler import sample_completions

    model.eval()
    device = next(model.parameters()).device
    start = time.perf_counter()
    backend = "shared_prompt" if shared_prompt and supports_shared_prompt(model) else "generate"
    if backend == "shared_prompt":
        ids = torch.tensor(prompt_ids(tokenizer, prompt), device=device)
        rows = sample_completions(
            model, ids, n, batch_size, max_new_tokens, temperature, top_p, tokenizer.eos_token_id, seed, progress
        )
        texts = tokenizer.batch_decode(rows, skip_special_tokens=True)
    else:
        texts = []
        batch_index = 0
        while len(texts) < n:
            size = min(batch_size, n - len(texts))
            encoded = tokenizer([prompt] * size, return_tensors="pt", padding=True).to(device)  # as prompt_ids
            torch.manual_seed(seed + batch_index)
            with torch.no_grad():
                output = model.generate(
                    **encoded,
                    do_sample=True,
                    temperature=temperature,
                    top_p=top_p,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            texts.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
            batch_index += 1
            if progress:
                progress(size)
    seconds = time.perf_counter() - start
    if stats is not None:
        stats.update(backend=backend, seconds=seconds, samples_per_s=n / seconds if seconds > 0 else float("inf"))
    return texts


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def generate_texts_vllm(
    model_folder,
    prompt: str,
    n: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 40,
    seed: int = 0,
    stats: dict | None = None,
) -> list[str]:
    """``n`` samples from a plain model folder (full weights; merge a LoRA adapter first) with vLLM.

    vLLM shares the prompt's cache across the ``n`` samples itself (prefix caching). It is optional:
    where it is not installed this raises :class:`SamplingBackendError`.
    """
    if not vllm_available():
        raise SamplingBackendError(
            "vLLM is not installed; install it on the GPU machine or set models.<name>.sampling.backend: hf"
        )
    import time

    from vllm import LLM, SamplingParams

    start = time.perf_counter()
    llm = LLM(model=str(model_folder), seed=seed, enable_prefix_caching=True)
    params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_new_tokens, seed=seed)
    texts = [choice.text for choice in llm.generate([prompt], params)[0].outputs]
    if stats is not None:
        seconds = time.perf_counter() - start
        stats.update(backend="vllm", seconds=seconds, samples_per_s=n / seconds if seconds > 0 else float("inf"))
    return texts
