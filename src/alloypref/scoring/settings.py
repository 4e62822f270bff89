"""How a shard is scored: the scorer's typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alloypref.config_schema import schema_default
from alloypref.reward import RewardSettings

if TYPE_CHECKING:  # config imports the calphad package; only the annotation needs it
    from alloypref.config import CalphadSettings


@dataclass(frozen=True)
class ScoringSettings:
    """How a shard is scored (temperatures in K, times in s).

    ``isolate``: solve in a worker process that is killed after ``timeout_s`` (the default). Without
    it candidates are solved in this process and ``timeout_s`` is not enforced (debugging, or a
    backend that cannot be forked). ``workers``: solver processes run at once (isolated only), each
    taking whole element sets; each holds its own compiled systems, so memory grows with it.
    """

    temperatures_K: tuple[float, ...]
    reward: RewardSettings = RewardSettings()
    min_coverage: float = float(schema_default("calphad.min_coverage"))
    timeout_s: float = float(schema_default("calphad.timeout_s"))
    checkpoint_every: int = int(schema_default("scoring.checkpoint_every"))
    isolate: bool = True
    workers: int = int(schema_default("scoring.workers"))

    @classmethod
    def from_settings(cls, settings: CalphadSettings, **overrides: object) -> ScoringSettings:
        """The scoring settings a config's ``calphad`` block gives (every scorer: rule ``score``,
        GRPO, the cross-database check, API judges and the CLI build them here, so they cannot
        drift apart); ``overrides`` set the per-job fields (``workers``, ``checkpoint_every``)."""
        if settings.temperatures_K is None or settings.reward is None:
            raise ValueError("scoring needs the calphad block's scoring keys and a reward (this job was given neither)")
        return cls(
            temperatures_K=settings.temperatures_K,
            reward=settings.reward,
            min_coverage=settings.min_coverage,
            timeout_s=settings.timeout_s,
            **overrides,
        )
