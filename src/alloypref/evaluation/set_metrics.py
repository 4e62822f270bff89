"""Set-valued metrics of a batch of samples (unique@k, COV-R) and their 95 % intervals.

unique@k and COV-R depend on which *distinct* points a batch holds, not on a mean over its samples:
a bootstrap resample with replacement keeps about 63 % of the distinct points, so its percentile
interval sits below the estimate and can miss it. Two methods replace it, and the headline table
names the one each row used (column ``interval``, :data:`FRESH`, :data:`SUBSAMPLE`, :data:`NONE`):

* **Fresh batches** (config ``evaluation.fresh_batches`` = B > 0): the model draws B more batches,
  each as large as the source's own samples (rules/sample.smk, rule ``fresh_samples``; sampling
  needs no CALPHAD). The metric is computed on each of the B + 1 batches (the source's own first);
  the value is their median and the interval their 2.5-97.5 % percentiles: the spread of the metric
  over independent batches of this size, what another run of the same model could have reported.
* **Subsamples** (no fresh batches; unique@k only): k parsed samples drawn without replacement from
  the source's own, many times; the value is their median, the interval their percentiles. The
  subsamples share most of their points, so this interval is narrower than the fresh batches'
  (by about sqrt(1 - k/n) for n parsed samples): it says how the first k could have fallen, not
  how another batch would.
* **None** (no fresh batches; COV-R): COV-R on the source's own parsed samples, no interval (a
  subsample holds fewer points, so its COV-R is lower by construction).

Either way the value is a median of the draws the interval is the percentiles of, so the interval
contains its value (percentiles are monotone in the level).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref.completion.parsing import SAMPLES_SCHEMA
from alloypref.evaluation.metrics import canonical_key

#: A fresh-samples table (``samples/{model}/fresh/{stage}.parquet``): samples and their batch (0-based).
FRESH_SAMPLES_SCHEMA = SAMPLES_SCHEMA.append(pa.field("batch", pa.int64()))

# Tag of the fresh-batch streams in their seed sequence (any constant apart from the stage streams').
_FRESH_STREAM = 0xF4E5

#: Names of the interval methods (the headline table's ``interval`` column).
FRESH = "fresh batches"
SUBSAMPLE = "subsamples (narrower than fresh batches)"
NONE = "none"
BOOTSTRAP = "bootstrap of samples"


def fresh_seed(stage_seed: int) -> int:
    """The seed of a stage's fresh batches: drawn from numpy's SeedSequence of (stage seed, a fresh
    tag), so it is apart from every stage stream's seed (the global seed plus small offsets)."""
    return int(np.random.SeedSequence([stage_seed, _FRESH_STREAM]).generate_state(1)[0])


def pair_codes(parsed: pd.DataFrame) -> np.ndarray:
    """Integer code of each parsed row's (canonical BCC, canonical B2) key, the key of unique@k."""
    keys = [(canonical_key(r.bcc), canonical_key(r.b2)) for r in parsed.itertuples(index=False)]
    return pd.factorize(pd.Series(keys, dtype=object))[0] if keys else np.empty(0, dtype=np.int64)


def unique_share(codes: np.ndarray, k: int = 100) -> float:
    """unique@k of parsed rows given by their key codes: distinct keys among the first ``k`` over
    min(k, rows); 0 without rows."""
    first = codes[:k]
    return len(np.unique(first)) / len(first) if len(first) else 0.0


def recall(close: np.ndarray) -> float:
    """COV-R from a (reference point x parsed sample) table of "within the cutoff": the share of
    reference points with at least one sample within it (0 without samples)."""
    return float(close.any(axis=1).mean()) if close.shape[1] else 0.0


def median_interval(draws: Sequence[float]) -> tuple[float, float, float]:
    """(median, 2.5 %, 97.5 % percentile) of ``draws``: the interval always contains the value."""
    draws = np.asarray(draws, dtype=float)
    if len(draws) == 0:
        return (np.nan, np.nan, np.nan)
    low, value, high = np.percentile(draws, [2.5, 50.0, 97.5])
    return (float(value), float(low), float(high))


def subsampled_unique(codes: np.ndarray, rng: np.random.Generator, n_draws: int, k: int = 100) -> list[float]:
    """unique@k of ``n_draws`` subsamples of min(k, rows) parsed rows drawn without replacement."""
    if len(codes) == 0:
        return [0.0] * n_draws
    size = min(k, len(codes))
    return [unique_share(rng.choice(codes, size=size, replace=False), k) for _ in range(n_draws)]
