"""The prompts of the API baselines: Figs. 5-6 of the paper, filled with exemplars from a scored source.

The wording lives in package data (``alloypref/data/prompts/*.txt``, ``str.format`` fields in braces):
``one_shot.txt`` (Fig. 5), ``few_shot.txt`` (Fig. 6), ``known.txt`` (the figures' optional
"Known BCC / Known B2" lines), and the agent's ``judge.txt`` and ``regenerate.txt`` (the paper shows the
agent as a diagram only, Fig. 7, so these two are this project's wording).

Exemplars (A.1.2) come from the scored samples of the SFT model (a rewards table): only rows that
parsed into a triple (scoring status ``ok`` or ``failed``, not ``invalid``), one row per distinct
(bcc, b2, volume rounded to 0.01 %). Few-shot: the top ``n_good`` by reward are the good examples and
the bottom ``n_bad`` of the rest the bad ones (ties broken by candidate_id). One-shot: one such row
drawn with the seed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd


@cache
def template(name: str) -> str:
    """The text of ``alloypref/data/prompts/<name>.txt`` (trailing newline removed)."""
    return resources.files("alloypref.data").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")


def format_triple(bcc: str, b2: str, b2_volume_percent: float) -> str:
    """A triple as the figures show it: one tag per line, the volume with two decimals."""
    return f"<BCC>{bcc}</BCC>\n<B2>{b2}</B2>\n<B2 Volume>{b2_volume_percent:.2f}</B2 Volume>"


def _parsed_rows(rewards: pd.DataFrame) -> pd.DataFrame:
    missing = [
        c for c in ("candidate_id", "bcc", "b2", "b2_volume_percent", "reward", "status") if c not in rewards.columns
    ]
    if missing:
        raise ValueError(f"exemplar rewards table lacks columns {missing}")
    rows = rewards[rewards["status"] != "invalid"].copy()
    if rows.empty:
        raise ValueError("no exemplars: none of the exemplar source's samples parsed into a triple")
    rows["_volume"] = rows["b2_volume_percent"].round(2)
    rows = rows.sort_values(["reward", "candidate_id"], ascending=[False, True], kind="stable")
    return rows.drop_duplicates(["bcc", "b2", "_volume"]).drop(columns="_volume")


def few_shot_exemplars(rewards: pd.DataFrame, n_good: int = 10, n_bad: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(good, bad): the top ``n_good`` rows by reward and the bottom ``n_bad`` of the remaining ones."""
    rows = _parsed_rows(rewards)
    good = rows.head(n_good)
    rest = rows.iloc[len(good) :]
    bad = rest.sort_values(["reward", "candidate_id"], kind="stable").head(n_bad)
    return good, bad


def one_shot_exemplar(rewards: pd.DataFrame, seed: int) -> pd.Series:
    """One parsed row drawn uniformly with ``seed``."""
    rows = _parsed_rows(rewards).sort_values("candidate_id", kind="stable")
    return rows.iloc[int(np.random.default_rng(seed).integers(len(rows)))]


def known_block(known_bcc: Iterable[str] | None, known_b2: Iterable[str] | None) -> str:
    if known_bcc is None or known_b2 is None:
        return ""
    return "\n\n" + template("known").lstrip("\n").format(bcc=", ".join(known_bcc), b2=", ".join(known_b2))


def _examples(rows: pd.DataFrame) -> str:
    return "\n\n".join(format_triple(r.bcc, r.b2, r.b2_volume_percent) for r in rows.itertuples())


def few_shot_prompt(elements: Iterable[str], good: pd.DataFrame, bad: pd.DataFrame, known: tuple | None = None) -> str:
    """Fig. 6 filled in; ``known`` is (known BCC, known B2) for the optional lines."""
    return template("few_shot").format(
        elements=", ".join(elements),
        good=_examples(good),
        bad=_examples(bad),
        known=known_block(*(known or (None, None))),
    )


def one_shot_prompt(elements: Iterable[str], example: pd.Series, known: tuple | None = None) -> str:
    """Fig. 5 filled in."""
    return template("one_shot").format(
        elements=", ".join(elements),
        example=format_triple(example["bcc"], example["b2"], example["b2_volume_percent"]),
        known=known_block(*(known or (None, None))),
    )


def judge_prompt(elements: Iterable[str]) -> str:
    return template("judge").format(elements=", ".join(elements))


def regenerate_prompt(feedback: str) -> str:
    return template("regenerate").format(feedback=feedback)


def uuid_suffix(seed: int, index: int) -> str:
    """A UUID4 for sample ``index``, drawn from ``seed`` so a resumed run asks the same question (A.1.3).

    The paper appends a UUID to each prompt because the tuned prompt gave the same triple again and
    again even at temperature 1: the suffix makes every request distinct.
    """
    bits = np.random.default_rng([seed, index]).integers(0, 2**63, size=2, dtype=np.uint64)
    return str(uuid.UUID(int=(int(bits[0]) << 64) | int(bits[1]), version=4))
