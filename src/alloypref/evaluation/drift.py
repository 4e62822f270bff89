"""Element-frequency drift of a source from the SFT samples: the collapse watch of iterative DPO.

Kept apart from the headline metrics so that the round decisions (rule accept_round) depend on this
small module only.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd


def element_shares(rewards: pd.DataFrame) -> pd.Series:
    """Share of each element among the element occurrences of parsed samples (BCC and B2 sets)."""
    parsed = rewards[rewards["master_composition"] != ""]
    counts: Counter = Counter()
    for bcc, b2 in zip(parsed["bcc"], parsed["b2"]):
        counts.update(set(re.findall(r"[A-Z][a-z]?", f"{bcc} {b2}")))
    total = sum(counts.values())
    return pd.Series({e: c / total for e, c in counts.items()}, dtype=float) if total else pd.Series(dtype=float)


def total_variation(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance 0.5 * sum |a_i - b_i| of two distributions over element symbols."""
    if a.empty or b.empty:
        return float("nan")
    index = a.index.union(b.index)
    return 0.5 * float((a.reindex(index, fill_value=0.0) - b.reindex(index, fill_value=0.0)).abs().sum())
