"""Per-token KL(DPO || SFT) on element and number tokens (Appendix A.6, Table 3, Fig. 11).

The SFT model's sampled continuations are teacher-forced through both models after the prompt encoded
as in training and sampling (with the tokenizer's special tokens, e.g. a BOS), trimmed at EOS; at each
position the KL divergence sum_v p_DPO(v) (log p_DPO(v) - log p_SFT(v)) over the vocabulary is taken,
and positions are grouped by what their token is part of: an element symbol (counted per element),
a multi-digit number, or anything else. Both models must share a tokenizer (DPO continues from SFT).

The samples are read as written, malformed ones included, so a capital letter that a model wrote
where no formula belongs (``H`` in ``<BCC>Nb6H<BCC>Ti``, ``Su`` where it began the prompt's
"Suggest" again) looks like an element symbol. Given the design space's elements, a symbol outside
them is grouped as what it is, token kind ``stray_symbol``: a letter of a malformed sample, not an
element the model was taught (``H`` there is not hydrogen).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from alloypref.completion.grammar import TAGS

KL_SCHEMA_COLUMNS = ["group", "token_kind", "count", "mean_kl"]
#: Any tag, longest first (``<B2 Volume>`` before ``<B2>``).
_TAG_PATTERN = re.compile("|".join(re.escape(tag) for tag in sorted(TAGS, key=len, reverse=True)))


def token_kinds(text: str, offsets: Sequence[tuple[int, int]]) -> list[str]:
    """For each token span, ``tag`` when it overlaps a tag (one token of the formula tokenizer, or
    pieces such as ``<``, ``B``, ``CC``, ``>`` of a pretrained one), else the element symbol it
    overlaps, ``number`` for a multi-digit number, or ``other``."""
    spans = [(match.start(), match.end(), "tag") for match in _TAG_PATTERN.finditer(text)]
    # element symbols and numbers outside the tags
    untagged = _TAG_PATTERN.sub(lambda match: " " * len(match.group(0)), text)
    for match in re.finditer(r"[A-Z][a-z]?|\d+(?:\.\d+)?", untagged):
        token = match.group(0)
        kind = token if token[0].isalpha() else ("number" if len(re.sub(r"\D", "", token)) > 1 else "other")
        spans.append((match.start(), match.end(), kind))
    kinds = []
    for start, end in offsets:
        kind = "other"
        for s, e, k in spans:
            if start < e and s < end:
                kind = k
                break
        kinds.append(kind)
    return kinds


def per_token_kl(
    dpo_model,
    sft_model,
    tokenizer,
    prompt: str,
    continuations: Sequence[str],
    elements: Collection[str] | None = None,
) -> pd.DataFrame:
    """Rows (group, token_kind, count, mean_kl), KL in nats per token: per element symbol (token kind
    ``element``; with ``elements``, the design space's, a symbol outside them is ``stray_symbol``),
    ``number``, ``tag``, ``eos`` and ``other``."""
    import torch

    from alloypref.lm.sampling import prompt_ids as encode_prompt

    element_pattern = re.compile(r"^[A-Z][a-z]?$")
    records: dict[str, list[float]] = {}
    prompt_ids = encode_prompt(tokenizer, prompt)
    for model in (dpo_model, sft_model):
        model.eval()
    for text in continuations:
        # only the formula part counts; tags are structure, not chemistry
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = prompt_ids + encoded["input_ids"] + [tokenizer.eos_token_id]
        inputs = torch.tensor([ids])
        with torch.no_grad():
            log_p = torch.log_softmax(dpo_model(inputs).logits[0].float(), dim=-1)
            log_q = torch.log_softmax(sft_model(inputs).logits[0].float(), dim=-1)
        # the distribution predicting token t sits at position t - 1
        positions = range(len(prompt_ids) - 1, len(ids) - 1)
        kl = (log_p.exp() * (log_p - log_q)).sum(-1).numpy()
        kinds = token_kinds(text, encoded["offset_mapping"]) + ["eos"]
        for position, kind in zip(positions, kinds):
            records.setdefault(kind, []).append(float(kl[position]))
    rows = []
    for kind, values in sorted(records.items()):
        token_kind = kind
        if element_pattern.match(kind):
            token_kind = "element" if elements is None or kind in elements else "stray_symbol"
        rows.append({"group": kind, "token_kind": token_kind, "count": len(values), "mean_kl": float(np.mean(values))})
    return pd.DataFrame(rows, columns=KL_SCHEMA_COLUMNS)
