"""Batched sampling of triples from a model, and parsing of what it wrote.

Every raw text is kept; parsing records a status per row instead of dropping rows:

* ``ok`` — three tags, two formulas of design-space elements, a volume within 0-100;
* ``unparseable`` — the tags are missing, repeated or out of order, or the volume is not a number;
* ``invalid_formula`` — a tag holds text that is not a formula;
* ``unknown_element`` — a formula names an element outside the design space (or no element at all);
* ``volume_out_of_range`` — the volume is not within 0-100 %.

Samples table:

====================  =======  =========================================================
column                dtype    meaning
====================  =======  =========================================================
candidate_id          string   ``{model}-{stage}-{index}``
model, stage          string   the ``{model}`` wildcard; ``sft`` or ``dpo`` (or a baseline)
prompt                string   the prompt the text was generated from
text                  string   the raw generation (special tokens removed, tags kept)
bcc, b2               string   parsed formulas ("" unless parsed)
b2_volume_percent     float64  parsed volume (%); NaN unless parsed
status, reason        string   parse status (above) and why
====================  =======  =========================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

SAMPLES_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("model", pa.string()),
        ("stage", pa.string()),
        ("prompt", pa.string()),
        ("text", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)

_FORMULA_SHAPE = re.compile(r"^(?:[A-Z][a-z]?(?:[0-9]*\.?[0-9]+)?)+$")
_VOLUME = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def parse_generation(text: str, allowed_elements: Iterable[str] | None = None) -> dict:
    """(bcc, b2, b2_volume_percent, status, reason) of one generated text."""
    from alloypref.completion import GRAMMAR, split_completion
    from alloypref.composition import FormulaError, parse_formula

    result = {"bcc": "", "b2": "", "b2_volume_percent": math.nan, "status": "ok", "reason": ""}
    parts = split_completion(text)
    if parts is None:
        result.update(status="unparseable", reason=f"expected {GRAMMAR} once each")
        return result
    bcc, b2, volume_text = parts
    # A plain decimal only: float() would also take "1e400" (inf), "nan" and "1_0".
    if not _VOLUME.match(volume_text):
        result.update(status="unparseable", reason=f"B2 volume {volume_text!r} is not a plain decimal number")
        return result
    volume = float(volume_text)
    result.update(bcc=bcc, b2=b2, b2_volume_percent=volume)
    allowed = set(allowed_elements) if allowed_elements is not None else None
    for formula in (bcc, b2):
        try:
            parse_formula(formula)
        except FormulaError as exc:
            # formula-shaped text that pymatgen rejects names an unknown element symbol
            status = "unknown_element" if _FORMULA_SHAPE.match(formula) else "invalid_formula"
            result.update(status=status, reason=str(exc))
            return result
        if allowed is not None:
            try:
                parse_formula(formula, allowed)
            except FormulaError as exc:
                result.update(status="unknown_element", reason=str(exc))
                return result
    if not 0.0 <= volume <= 100.0:
        result.update(status="volume_out_of_range", reason=f"B2 volume {volume} % is outside 0-100")
    return result


def parse_samples(
    texts: list[str], model: str, stage: str, prompt: str, allowed_elements: Iterable[str]
) -> pd.DataFrame:
    """The samples table (see module doc) for a list of generated texts."""
    allowed = list(allowed_elements)
    rows = []
    for index, text in enumerate(texts):
        parsed = parse_generation(text, allowed)
        rows.append(
            {
                "candidate_id": f"{model}-{stage}-{index:05d}",
                "model": model,
                "stage": stage,
                "prompt": prompt,
                "text": text,
                **parsed,
            }
        )
    return pd.DataFrame(rows, columns=SAMPLES_SCHEMA.names)


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
