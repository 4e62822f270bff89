"""The paper's hierarchical reward (Eq. 1) computed from a long phase table.

Reward = -1000*1[not bcc_b2_exist] - 100*1[not bcc_forms_first] - 10*1[not b2_room_temp]
         - 1*1[others_exceed_10%] - min_lattice_mismatch

Definitions used here (the paper states the rules in words only; these make them exact):

* A phase is *present* at a temperature when its mole fraction is >= ``presence_threshold`` (0.01).
* ``bcc_b2_exist``: at some temperature a disordered BCC and an ordered B2 are present together.
  With the optional stricter rule ``service_temperature_K`` (K; None, the default, keeps the paper's
  rule) that temperature must be at or above it: coexistence only at, say, 773 K is kinetically
  irrelevant for a superalloy in service.
* ``bcc_forms_first``: the highest temperature with a disordered BCC present is strictly above the
  highest temperature with a B2 present. Both must exist; appearing in the same step fails.
* ``b2_room_temp``: a B2 is present at the lowest temperature of the grid (373.15 K by default).
* ``others_exceed_10%``: at some temperature the summed mole fraction of *solid* phases that are
  neither BCC nor B2 exceeds ``others_threshold`` (0.10); exactly 0.10 passes. Liquid is not an
  "other" phase (most candidates are liquid at 2273 K, the paper's own Fig. 9 example included).
* ``min_lattice_mismatch``: minimum over temperatures and over every present BCC x B2
  composition-set pair at that temperature of the mismatch (over the temperatures that satisfy
  ``bcc_b2_exist``: at or above ``service_temperature_K`` when it is set), which ``mismatch`` selects:
  ``absolute`` |a_B2 - a_BCC| in Å (the paper's Eq. 1, the default) or ``relative``
  2 |a_B2 - a_BCC| / (a_B2 + a_BCC), dimensionless (the authors' own scorer). Lattice parameters
  come from one model for ordered and disordered sets (:mod:`alloypref.calphad.lattice`). Where
  BCC and B2 never coexist it is ``mismatch_cap`` (10), so the worst reward is
  -(1000 + 100 + 10 + 1 + 10) = -1121.

A phase table row has at least ``temperature_K``, ``structure`` (one of :data:`STRUCTURES`),
``mole_fraction`` and ``lattice_parameter_A``; see :mod:`alloypref.calphad.tables`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from alloypref.calphad.tables import Structure
from alloypref.config_schema import schema_default

# Float tolerance for "exactly 0.10 passes": sums of fractions carry ~1e-16 rounding noise.
_SUM_TOLERANCE = 1e-9
# Grid temperatures (K) are written with two decimals (373.15); a service temperature equal to one
# must count as reached whatever the float rounding of either.
_TEMPERATURE_TOLERANCE_K = 1e-6

#: The lattice-mismatch measures of ``RewardSettings.mismatch``.
MISMATCH_KINDS = ("absolute", "relative")


@dataclass(frozen=True)
class RewardSettings:
    """Weights and thresholds of Eq. 1 (weights dimensionless; the mismatch and its cap in Å when
    ``mismatch`` is ``absolute``, dimensionless when ``relative``)."""

    weight_bcc_b2_exist: float = float(schema_default("reward.weight_bcc_b2_exist"))
    weight_bcc_forms_first: float = float(schema_default("reward.weight_bcc_forms_first"))
    weight_b2_room_temp: float = float(schema_default("reward.weight_b2_room_temp"))
    weight_others_exceed: float = float(schema_default("reward.weight_others_exceed"))
    presence_threshold: float = float(schema_default("reward.presence_threshold"))
    others_threshold: float = float(schema_default("reward.others_threshold"))
    mismatch_cap: float = float(schema_default("reward.mismatch_cap"))
    mismatch: str = schema_default("reward.mismatch")
    #: K; None: BCC and B2 may coexist at any grid temperature (the paper's rule 1)
    service_temperature_K: float | None = schema_default("reward.service_temperature_K")

    def __post_init__(self):
        if self.mismatch not in MISMATCH_KINDS:
            raise ValueError(f"config key reward.mismatch must be one of {MISMATCH_KINDS}, got {self.mismatch!r}")
        service = self.service_temperature_K
        if service is not None and (
            isinstance(service, bool) or not (isinstance(service, int | float) and 0 < service < float("inf"))
        ):
            raise ValueError(
                f"config key reward.service_temperature_K must be null or a temperature > 0 K, got {service!r}"
            )

    @property
    def worst_reward(self) -> float:
        """The reward of a candidate that fails every rule (also given to solver failures)."""
        return -(
            self.weight_bcc_b2_exist
            + self.weight_bcc_forms_first
            + self.weight_b2_room_temp
            + self.weight_others_exceed
            + self.mismatch_cap
        )


@dataclass(frozen=True)
class RewardBreakdown:
    """The scalar reward with every rule flag and the mismatch beside it."""

    reward: float
    bcc_b2_exist: bool
    bcc_forms_first: bool
    b2_room_temp: bool
    others_exceed_10: bool
    min_lattice_mismatch_A: float
    highest_bcc_K: float
    highest_b2_K: float

    @property
    def all_rules(self) -> bool:
        """True when the four rules hold (reward > -1 - mismatch)."""
        return self.bcc_b2_exist and self.bcc_forms_first and self.b2_room_temp and not self.others_exceed_10

    def as_dict(self) -> dict[str, float | bool]:
        return {**asdict(self), "all_rules": self.all_rules}


def lattice_mismatch(a_b2, a_bcc, kind: str = "absolute"):
    """|a_B2 - a_BCC| (Å) for ``absolute``; 2 |a_B2 - a_BCC| / (a_B2 + a_BCC) for ``relative``.

    Works element-wise on floats, NumPy arrays and pandas Series alike.
    """
    if kind == "absolute":
        return abs(a_b2 - a_bcc)
    if kind == "relative":
        return 2.0 * abs(a_b2 - a_bcc) / (a_b2 + a_bcc)
    raise ValueError(f"unknown lattice mismatch {kind!r}; expected one of {MISMATCH_KINDS}")


def compute_reward(table: pd.DataFrame, config: RewardSettings | None = None) -> RewardBreakdown:
    """Eq. 1 on the phase table of one candidate (rows for every temperature of its grid)."""
    cfg = config or RewardSettings()
    if table.empty:
        raise ValueError("empty phase table: nothing to compute a reward from")
    present = table[table["mole_fraction"] >= cfg.presence_threshold]
    bcc = present[present["structure"] == Structure.BCC]
    b2 = present[present["structure"] == Structure.B2]

    both_temps = np.intersect1d(bcc["temperature_K"].unique(), b2["temperature_K"].unique())
    if cfg.service_temperature_K is not None:
        both_temps = both_temps[both_temps >= cfg.service_temperature_K - _TEMPERATURE_TOLERANCE_K]
    bcc_b2_exist = both_temps.size > 0

    highest_bcc = float(bcc["temperature_K"].max()) if not bcc.empty else float("nan")
    highest_b2 = float(b2["temperature_K"].max()) if not b2.empty else float("nan")
    bcc_forms_first = bool(not bcc.empty and not b2.empty and highest_bcc > highest_b2)

    lowest = float(table["temperature_K"].min())
    b2_room_temp = bool((b2["temperature_K"] == lowest).any())

    solid_others = table[table["structure"] == Structure.OTHER]
    others_sum = solid_others.groupby("temperature_K")["mole_fraction"].sum()
    others_exceed = bool((others_sum > cfg.others_threshold + _SUM_TOLERANCE).any())

    mismatch = cfg.mismatch_cap
    if bcc_b2_exist:
        pairs = bcc[["temperature_K", "lattice_parameter_A"]].merge(
            b2[["temperature_K", "lattice_parameter_A"]], on="temperature_K", suffixes=("_bcc", "_b2")
        )
        pairs = pairs[pairs["temperature_K"].isin(both_temps)]
        diffs = lattice_mismatch(
            pairs["lattice_parameter_A_b2"], pairs["lattice_parameter_A_bcc"], cfg.mismatch
        ).dropna()
        if not diffs.empty:
            mismatch = min(float(diffs.min()), cfg.mismatch_cap)

    reward = (
        -cfg.weight_bcc_b2_exist * (not bcc_b2_exist)
        - cfg.weight_bcc_forms_first * (not bcc_forms_first)
        - cfg.weight_b2_room_temp * (not b2_room_temp)
        - cfg.weight_others_exceed * others_exceed
        - mismatch
    )
    return RewardBreakdown(
        reward=float(reward),
        bcc_b2_exist=bool(bcc_b2_exist),
        bcc_forms_first=bcc_forms_first,
        b2_room_temp=b2_room_temp,
        others_exceed_10=others_exceed,
        min_lattice_mismatch_A=float(mismatch),
        highest_bcc_K=highest_bcc,
        highest_b2_K=highest_b2,
    )
