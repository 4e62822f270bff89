"""How a shard is scored: the scorer's typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alloypref.config_schema import schema_default
from alloypref.reward import RewardSettings

if TYPE_CHECKING:  # config imports the calphad package; only the annotation needs it
    from alloypref.config import CalphadSettings


#: How the rewards of several databases holding a candidate make its reward (config
#: ``calphad.database_aggregate``, whose schema says why).
DATABASE_AGGREGATES = ("first", "min")


@dataclass(frozen=True)
class ScoringSettings:
    """How a shard is scored (temperatures in K, times in s).

    ``isolate``: solve in a worker process that is killed after ``timeout_s`` (the default). Without
    it candidates are solved in this process and ``timeout_s`` is not enforced (debugging, or a
    backend that cannot be forked). ``workers``: solver processes run at once (isolated only), each
    taking whole element sets; each holds its own compiled systems, so memory grows with it.
    ``database_aggregate``: the reward of a candidate several databases hold, one of
    :data:`DATABASE_AGGREGATES` (config ``calphad.database_aggregate``; ``first``: the trust
    ranking's first database; ``min``: the lowest reward over every database trusted for it).
    """

    temperatures_K: tuple[float, ...]
    reward: RewardSettings = RewardSettings()
    min_coverage: float = float(schema_default("calphad.min_coverage"))
    timeout_s: float = float(schema_default("calphad.timeout_s"))
    checkpoint_every: int = int(schema_default("scoring.checkpoint_every"))
    isolate: bool = True
    workers: int = int(schema_default("scoring.workers"))
    database_aggregate: str = str(schema_default("calphad.database_aggregate"))

    def __post_init__(self):
        if self.database_aggregate not in DATABASE_AGGREGATES:
            raise ValueError(
                f"calphad.database_aggregate: {self.database_aggregate!r} is none of {list(DATABASE_AGGREGATES)}"
            )

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
            database_aggregate=settings.database_aggregate or cls.database_aggregate,
            **overrides,
        )
