"""The completion grammar: how a (BCC, B2, B2 volume %) triple is written as text, and read back.

``<BCC>Nb2Mo</BCC><B2>NiAl</B2><B2 Volume>45.00</B2 Volume>`` — the paper's tags, each once, in this
order, the volume with two decimals. The SFT data is written with :func:`completion_text`, the
tokenizer adds :data:`TAGS` as tokens, and :mod:`alloypref.completion.parsing` reads generations with
:func:`split_completion`.
"""

from __future__ import annotations

import re

OPEN_TAGS = ("<BCC>", "<B2>", "<B2 Volume>")
TAGS = ("<BCC>", "</BCC>", "<B2>", "</B2>", "<B2 Volume>", "</B2 Volume>")
GRAMMAR = "<BCC>…</BCC><B2>…</B2><B2 Volume>…</B2 Volume>"

_TAGGED = re.compile(r"^\s*<BCC>(.*?)</BCC>\s*<B2>(.*?)</B2>\s*<B2 Volume>(.*?)</B2 Volume>\s*$", re.DOTALL)


def completion_text(bcc: str, b2: str, b2_volume_percent: float) -> str:
    """The paper's tag format, volume (%) with two decimals."""
    return f"<BCC>{bcc}</BCC><B2>{b2}</B2><B2 Volume>{b2_volume_percent:.2f}</B2 Volume>"


def split_completion(text: str | None) -> tuple[str, str, str] | None:
    """(bcc, b2, volume text), stripped, when ``text`` holds each tag once in order; else None."""
    match = _TAGGED.match(text or "")
    if not match or any(text.count(tag) != 1 for tag in OPEN_TAGS):
        return None
    return tuple(part.strip() for part in match.groups())
