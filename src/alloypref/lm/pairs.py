"""Preference pairs from scored samples (Appendix A.4).

Only trustworthy samples take part, on either side: the creditable ones of
:mod:`alloypref.lm.trust_gate`, the rule GRPO's reward uses too — scored ``ok`` (not ``failed`` in the
solver, not ``invalid`` — unparseable or malformed text, an element outside the design space, a
composition no database holds — and not unscored), not below the database-coverage threshold, and
``trusted`` (weakest-link trust, :mod:`alloypref.calphad.trust`). Otherwise the model would learn the
solver's and the databases' blind spots, in either direction.

The trustworthy samples are ranked by reward; the top ``top_fraction`` (25 %) of them are the chosen
candidates, each paired with ``k`` rejected samples drawn without replacement from the trustworthy
samples with a strictly lower reward (``min(k, available)``, so ties never form a pair); rewards are
compared after rounding to 1e-6. With ``same_database`` (the default) the rejected side is drawn only
from samples scored on the chosen one's database, so a systematic difference between two databases
never decides a preference.

Pairs table: prompt, chosen, rejected (texts), chosen_reward, rejected_reward (Eq. 1),
chosen_id, rejected_id, chosen_database, rejected_database.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.lm.trust_gate import creditable

PAIRS_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("chosen_reward", pa.float64()),
        ("rejected_reward", pa.float64()),
        ("chosen_id", pa.string()),
        ("rejected_id", pa.string()),
        ("chosen_database", pa.string()),
        ("rejected_database", pa.string()),
    ]
)


def scored_samples(samples: pd.DataFrame, rewards: pd.DataFrame, worst_reward: float) -> pd.DataFrame:
    """Samples joined with their rewards; samples that were not scored get the worst reward."""
    joined = samples.merge(
        rewards[["candidate_id", "reward", "status", "low_coverage", "trusted", "database"]].rename(
            columns={"status": "score_status"}
        ),
        on="candidate_id",
        how="left",
    )
    joined["reward"] = joined["reward"].fillna(worst_reward)
    joined["score_status"] = joined["score_status"].fillna("unscored")
    joined["low_coverage"] = joined["low_coverage"].fillna(True).astype(bool)
    joined["trusted"] = joined["trusted"].astype("boolean").fillna(False).astype(bool)
    joined["database"] = joined["database"].fillna("")
    return joined


def trustworthy(scored: pd.DataFrame) -> pd.Series:
    """Which samples may take part in a pair (:func:`alloypref.lm.trust_gate.creditable`)."""
    return creditable(scored["score_status"], scored["low_coverage"], scored["trusted"])


def build_pairs(
    scored: pd.DataFrame, top_fraction: float = 0.25, k: int = 100, seed: int = 0, same_database: bool = True
) -> pd.DataFrame:
    """Chosen/rejected pairs (see module doc); ``scored`` needs candidate_id, prompt, text, reward,
    score_status, low_coverage, trusted, database."""
    if not 0 < top_fraction <= 1:
        raise ValueError(f"config key pairs.top_fraction must be in (0, 1], got {top_fraction}")
    if k < 1:
        raise ValueError(f"config key pairs.k must be >= 1, got {k}")
    rng = np.random.default_rng(seed)
    # Rank on rewards rounded to 1e-6 (as win/draw/loss does): solver noise of ~1e-12 must neither
    # reorder candidates nor turn a tie into a pair.
    scored = scored[trustworthy(scored)].assign(reward=lambda f: f["reward"].round(6))
    ranked = scored.sort_values(["reward", "candidate_id"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
    n_top = int(math.floor(top_fraction * len(ranked)))
    rewards = ranked["reward"].to_numpy()
    databases = ranked["database"].to_numpy()
    rows = []
    for index in range(n_top):
        chosen = ranked.iloc[index]
        eligible = rewards < chosen["reward"]
        if same_database:
            eligible &= databases == chosen["database"]
        lower = np.flatnonzero(eligible)
        if lower.size == 0:
            continue
        picks = rng.choice(lower, size=min(k, lower.size), replace=False)
        for pick in picks:
            rejected = ranked.iloc[pick]
            rows.append(
                {
                    "prompt": chosen["prompt"],
                    "chosen": chosen["text"],
                    "rejected": rejected["text"],
                    "chosen_reward": float(chosen["reward"]),
                    "rejected_reward": float(rejected["reward"]),
                    "chosen_id": chosen["candidate_id"],
                    "rejected_id": rejected["candidate_id"],
                    "chosen_database": chosen["database"],
                    "rejected_database": rejected["database"],
                }
            )
    return pd.DataFrame(rows, columns=PAIRS_SCHEMA.names)
