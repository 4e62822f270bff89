"""DPO vs SFT: win/draw/loss over all pairs (Fig. 2), per-rule satisfaction (Fig. 3), top BCC
element sets (Table 2) and element frequency (Fig. 4), with bootstrap 95 % intervals where they matter.

With ~100 samples per source most differences are noise; the intervals say so, and :func:`verdict`
words a difference as a win only when its interval excludes 0.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

RULES = ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp", "others_ok", "all_rules")
#: A reader's name of each rule (``alloypref.reward``): figure ticks and summary rows.
RULE_LABELS = {
    "bcc_b2_exist": "1: BCC + B2 coexist",
    "bcc_forms_first": "2: BCC forms first",
    "b2_room_temp": "3: B2 at the lowest T",
    "others_ok": "4: other solids <= 10 %",
    "all_rules": "all 4 rules",
}


def _elements(formula: str) -> list[str]:
    return re.findall(r"[A-Z][a-z]?", formula or "")


def rule_table(rewards: pd.DataFrame) -> pd.DataFrame:
    """Per-triple booleans of the four rules (rule 4 as 'others_ok') and all four; invalid rows fail."""
    ok = rewards["status"] == "ok"
    return pd.DataFrame(
        {
            "bcc_b2_exist": rewards["bcc_b2_exist"] & ok,
            "bcc_forms_first": rewards["bcc_forms_first"] & ok,
            "b2_room_temp": rewards["b2_room_temp"] & ok,
            "others_ok": (~rewards["others_exceed_10"]) & ok,
            "all_rules": rewards["all_rules"] & ok,
        }
    )


def bootstrap_interval(values: Sequence[float], statistic, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95 % interval of ``statistic`` over resamples of ``values``."""
    values = np.asarray(values)
    if len(values) == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    draws = [statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(n_boot)]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def pair_shares(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Over every pair (one value of ``a`` against one of ``b``): the shares of pairs where ``a`` is
    greater (win), equal (draw) and smaller (loss). Values are compared as given (round them first)."""
    if len(a) == 0 or len(b) == 0:
        return (np.nan, np.nan, np.nan)
    ordered = np.sort(b)
    below = np.searchsorted(ordered, a, side="left")  # values of b smaller than each a
    not_above = np.searchsorted(ordered, a, side="right")  # values of b smaller than or equal to it
    pairs = float(len(a) * len(b))
    win = below.sum() / pairs
    draw = (not_above - below).sum() / pairs
    return (float(win), float(draw), float(1.0 - win - draw))


#: A reader's name of each row of :func:`win_draw_loss` (summary rows, figure ticks).
OUTCOME_LABELS = {
    "win": "win: DPO reward higher",
    "draw": "draw: equal to 1e-6",
    "loss": "loss: SFT reward higher",
    "win - loss": "win − loss (the test)",
}


def win_draw_loss(sft: pd.DataFrame, dpo: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """DPO against SFT over all pairs: every DPO sample's reward against every SFT sample's (draw if
    equal to 1e-6; the two sets are independent draws, so pairing them by index would be arbitrary).

    Rows ``win``, ``draw``, ``loss``: P(R_DPO > R_SFT), P(=), P(<); row ``win - loss``: their
    difference, the test of equality (DPO beats SFT only when its interval lies above 0, loses only
    when it lies below). Intervals: percentile bootstrap 95 %, the two sources resampled
    independently. ``n``: the number of pairs."""
    a = np.round(dpo["reward"].to_numpy(dtype=float), 6)
    b = np.round(sft["reward"].to_numpy(dtype=float), 6)
    win, draw, loss = pair_shares(a, b)
    draws = np.full((n_boot, 3), np.nan)
    if len(a) and len(b):
        rng = np.random.default_rng(seed)
        for i in range(n_boot):
            draws[i] = pair_shares(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
    outcomes = {
        "win": (win, draws[:, 0]),
        "draw": (draw, draws[:, 1]),
        "loss": (loss, draws[:, 2]),
        "win - loss": (win - loss, draws[:, 0] - draws[:, 2]),
    }
    rows = []
    for name, (share, resampled) in outcomes.items():
        low, high = (np.nan, np.nan) if np.isnan(resampled).all() else np.percentile(resampled, [2.5, 97.5])
        rows.append({"outcome": name, "share": share, "low": float(low), "high": float(high), "n": len(a) * len(b)})
    return pd.DataFrame(rows)


def verdict(low: float, high: float, better: str, worse: str) -> str:
    """The words a difference's 95 % interval [low, high] allows (``better`` minus ``worse``):
    "``better`` beats ``worse``" only when the interval lies above 0, "... trails ..." only when
    below, else "not distinguishable"."""
    if np.isnan(low) or np.isnan(high):
        return f"{better} and {worse}: no interval, not distinguishable"
    if low > 0:
        return f"{better} beats {worse} (95 % interval of the difference [{low:.3g}, {high:.3g}] excludes 0)"
    if high < 0:
        return f"{better} trails {worse} (95 % interval of the difference [{low:.3g}, {high:.3g}] excludes 0)"
    return f"{better} and {worse} are not distinguishable (95 % interval of the difference [{low:.3g}, {high:.3g}] holds 0)"


def rule_satisfaction(sources: dict[str, pd.DataFrame], n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Share of triples meeting each rule per source, with bootstrap 95 % intervals."""
    rows = []
    for source, rewards in sources.items():
        table = rule_table(rewards)
        for rule in RULES:
            values = table[rule].to_numpy(dtype=float)
            low, high = bootstrap_interval(values, np.mean, n_boot, seed)
            rows.append(
                {
                    "source": source,
                    "rule": rule,
                    "share": float(values.mean()) if len(values) else np.nan,
                    "low": low,
                    "high": high,
                }
            )
    return pd.DataFrame(rows)


def rule_change(sft: pd.DataFrame, dpo: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Relative change SFT -> DPO of each rule's share, (dpo - sft) / sft, with a bootstrap interval
    (the two sources resampled independently)."""
    rng = np.random.default_rng(seed)
    a, b = rule_table(sft), rule_table(dpo)
    rows = []
    for rule in RULES:
        x, y = a[rule].to_numpy(dtype=float), b[rule].to_numpy(dtype=float)

        def relative(p, q):
            return (q.mean() - p.mean()) / p.mean() if p.mean() > 0 else np.nan

        draws = (
            [relative(x[rng.integers(0, len(x), len(x))], y[rng.integers(0, len(y), len(y))]) for _ in range(n_boot)]
            if len(x) and len(y)
            else []
        )
        draws = [d for d in draws if np.isfinite(d)]
        rows.append(
            {
                "rule": rule,
                "sft": float(x.mean()) if len(x) else np.nan,
                "dpo": float(y.mean()) if len(y) else np.nan,
                "relative_change": relative(x, y) if len(x) and len(y) else np.nan,
                "low": float(np.percentile(draws, 2.5)) if draws else np.nan,
                "high": float(np.percentile(draws, 97.5)) if draws else np.nan,
            }
        )
    return pd.DataFrame(rows)


def top_bcc_sets(sources: dict[str, pd.DataFrame], k: int = 5) -> pd.DataFrame:
    """The ``k`` most frequent BCC element sets per source (share of parsed triples)."""
    rows = []
    for source, rewards in sources.items():
        parsed = rewards[rewards["master_composition"] != ""]
        counts = Counter("{" + ", ".join(sorted(set(_elements(f)))) + "}" for f in parsed["bcc"])
        for rank, (combo, count) in enumerate(counts.most_common(k), start=1):
            rows.append({"source": source, "rank": rank, "bcc_elements": combo, "share": count / len(parsed)})
    return pd.DataFrame(rows, columns=["source", "rank", "bcc_elements", "share"])


def element_frequency(sources: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per element, the share of parsed triples whose BCC or B2 contains it."""
    rows = []
    for source, table in sources.items():
        parsed = table[table["bcc"].fillna("").ne("") & table["b2"].fillna("").ne("")]
        if "master_composition" in parsed:
            parsed = parsed[parsed["master_composition"] != ""]
        counts: Counter = Counter()
        for bcc, b2 in zip(parsed["bcc"], parsed["b2"]):
            counts.update(set(_elements(bcc)) | set(_elements(b2)))
        for element, count in sorted(counts.items()):
            rows.append({"source": source, "element": element, "share": count / len(parsed) if len(parsed) else np.nan})
    return pd.DataFrame(rows, columns=["source", "element", "share"])
