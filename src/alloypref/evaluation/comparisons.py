"""DPO vs SFT: win/draw/loss (Fig. 2), per-rule satisfaction (Fig. 3), top BCC element sets
(Table 2) and element frequency (Fig. 4), with bootstrap 95 % intervals where they matter.

With ~100 samples per source most differences are noise; the intervals say so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

RULES = ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp", "others_ok", "all_rules")


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


def win_draw_loss(sft: pd.DataFrame, dpo: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The i-th DPO sample against the i-th SFT sample (draw if equal to 1e-6), with 95 % intervals,
    and the all-pairs P(R_DPO > R_SFT)."""
    n = min(len(sft), len(dpo))
    a = np.round(dpo["reward"].to_numpy()[:n], 6)
    b = np.round(sft["reward"].to_numpy()[:n], 6)
    outcome = np.sign(a - b)  # +1 win, 0 draw, -1 loss
    rows = []
    for name, value in (("win", 1), ("draw", 0), ("loss", -1)):
        share = float((outcome == value).mean()) if n else np.nan
        low, high = bootstrap_interval(outcome, lambda o, v=value: (o == v).mean(), n_boot, seed)
        rows.append({"outcome": name, "share": share, "low": low, "high": high, "n": n})
    all_pairs = float((dpo["reward"].to_numpy()[:, None] > sft["reward"].to_numpy()[None, :]).mean()) if n else np.nan
    rows.append(
        {
            "outcome": "P(R_DPO > R_SFT), all pairs",
            "share": all_pairs,
            "low": np.nan,
            "high": np.nan,
            "n": len(sft) * len(dpo),
        }
    )
    return pd.DataFrame(rows)


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
