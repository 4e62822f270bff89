"""Iterative DPO: which policy each round starts from, and whether a round is accepted.

Round r (1-based) starts from the *current policy*: the SFT model for round 1, afterwards the policy
of the last accepted round. It builds its pairs from that policy's scored samples (the SFT samples in
round 1), trains DPO, samples the new policy ``dpo_r{r}`` and scores those samples. A round is
accepted when unique@100 of its samples reaches ``min_unique`` (collapse onto a few triples stops the
chain); a rejected round's policy is never continued from, and the next round retries from the last
accepted policy with its own seed.

Round decision (``results/rounds/{model}/r{r}.json``):

==============  =======  ============================================================
key             type     meaning
==============  =======  ============================================================
round           int      r
accepted        bool     unique_at_100 >= min_unique
unique_at_100   float    distinct (BCC, B2) keys among the first 100 parsed samples
min_unique      float    the floor it was judged against
element_tv      float    total variation distance of element frequencies vs the SFT samples
policy          str      the stage the next round continues from (``sft`` or ``dpo_r{k}``)
==============  =======  ============================================================

The policy's samples are those of the same stage (``samples/{model}/{policy}.parquet``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

#: The stage every chain starts from.
START = "sft"


def round_stage(round_number: int) -> str:
    """The stage name of round r's policy and samples (``dpo_r{r}``)."""
    if round_number < 1:
        raise ValueError(f"rounds count from 1, got {round_number}")
    return f"dpo_r{round_number}"


def round_temperature(temperatures: Sequence[float], round_number: int) -> float:
    """Sampling temperature of round r's policy: item r of the list, the last item beyond its end."""
    return float(temperatures[min(round_number, len(temperatures)) - 1])


def samples_per_round(config: Mapping, model: str) -> int:
    """Samples drawn from each round's policy: ``iterative_dpo.samples_per_round``, else the model's
    ``sampling.n`` (``config`` validated, so every block is present)."""
    from alloypref.lm.registry import sampling_n

    return config["iterative_dpo"]["samples_per_round"] or sampling_n(config, model)


def max_budget(config: Mapping, model: str) -> int:
    """The most CALPHAD calls the DPO pipeline of a model can spend: its SFT samples and every round's."""
    from alloypref.lm.registry import sampling_n

    return sampling_n(config, model) + config["iterative_dpo"]["rounds"] * samples_per_round(config, model)


def pool_size(config: Mapping, model: str) -> int:
    """Samples of a budget-matched baseline's pool: ``iterative_dpo.pool_factor`` x the largest budget."""
    return math.ceil(config["iterative_dpo"]["pool_factor"] * max_budget(config, model))


@dataclass(frozen=True)
class RoundDecision:
    """Whether a round's policy is accepted, and the policy the next round starts from."""

    round: int
    accepted: bool
    unique_at_100: float
    min_unique: float
    element_tv: float
    policy: str

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> RoundDecision:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"{path}: not a round decision ({exc})") from None


def decide(
    round_number: int, unique_at_100: float, element_tv: float, min_unique: float, previous: RoundDecision | None
) -> RoundDecision:
    """Accept round r when its unique@100 reaches ``min_unique``; otherwise keep the previous policy."""
    if (previous is None) != (round_number == 1):
        raise ValueError(f"round {round_number}: the previous round's decision is needed exactly when r > 1")
    accepted = bool(unique_at_100 >= min_unique)
    kept = previous.policy if previous is not None else START
    return RoundDecision(
        round=round_number,
        accepted=accepted,
        unique_at_100=float(unique_at_100),
        min_unique=float(min_unique),
        element_tv=float(element_tv),
        policy=round_stage(round_number) if accepted else kept,
    )


def current_policy(previous: RoundDecision | None) -> str:
    """The stage round r starts from, given round r-1's decision (None for round 1)."""
    return START if previous is None else previous.policy


def pick(paths: Mapping[str, str], stage: str, what: str) -> str:
    """The path of ``stage`` among a rule's declared inputs (named by stage)."""
    if stage not in paths:
        raise ValueError(f"no {what} of stage {stage!r} among the inputs {sorted(paths)}")
    return paths[stage]
