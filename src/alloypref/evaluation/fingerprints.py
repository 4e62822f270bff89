"""Magpie composition fingerprints, standardised with CDVAE's fixed MP-20 scaler.

The features are matminer's ``ElementProperty.from_preset("magpie")`` (22 elemental properties x
minimum, maximum, range, mean, avg_dev, mode over the atomic fractions: 132 features), computed here
vectorised over matminer's own ``MagpieData`` tables (featurising 20,000 compositions one by one
with matminer takes minutes; this takes seconds, and a test checks it against matminer).
The scaler values (``data/magpie_mp20_scaler.json``) are CDVAE's, MIT licence, attribution there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

STATS = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")


@lru_cache(maxsize=1)
def _magpie():
    from matminer.featurizers.composition import ElementProperty

    featurizer = ElementProperty.from_preset("magpie")
    return featurizer


@lru_cache(maxsize=1)
def feature_labels() -> tuple[str, ...]:
    return tuple(_magpie().feature_labels())


@lru_cache(maxsize=128)
def _element_table(elements: tuple[str, ...]) -> np.ndarray:
    """(n_elements, 22) elemental property values from matminer's MagpieData."""
    featurizer = _magpie()
    table = np.empty((len(elements), len(featurizer.features)))
    for j, prop in enumerate(featurizer.features):
        for i, element in enumerate(elements):
            table[i, j] = featurizer.data_source.get_elemental_property(_element(element), prop)
    return table


def _element(symbol: str):
    from pymatgen.core.periodic_table import Element

    return Element(symbol)


@lru_cache(maxsize=1)
def scaler() -> tuple[np.ndarray, np.ndarray]:
    data = json.loads(resources.files("alloypref.data").joinpath("magpie_mp20_scaler.json").read_text(encoding="utf-8"))
    return np.asarray(data["means"], dtype=float), np.asarray(data["stds"], dtype=float)


def magpie_features(compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
    """(n, 132) Magpie features in matminer's label order (fractions are normalised here)."""
    elements = tuple(sorted({e for c in compositions for e in c}))
    if not compositions:
        return np.empty((0, 132))
    index = {e: i for i, e in enumerate(elements)}
    fractions = np.zeros((len(compositions), len(elements)))
    for row, composition in enumerate(compositions):
        total = sum(composition.values())
        for element, x in composition.items():
            fractions[row, index[element]] += x / total
    table = _element_table(elements)  # (m, p)
    present = fractions > 0
    values = np.broadcast_to(table, (len(compositions), *table.shape))  # (n, m, p)
    masked_min = np.where(present[:, :, None], values, np.inf).min(axis=1)
    masked_max = np.where(present[:, :, None], values, -np.inf).max(axis=1)
    # NaN elemental data propagates as in matminer
    nan_any = np.isnan(np.where(present[:, :, None], values, 0.0)).any(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.einsum("nm,mp->np", fractions, np.nan_to_num(table, nan=0.0))
        mean[nan_any] = np.nan
        avg_dev = np.einsum("nm,nmp->np", fractions, np.abs(values - mean[:, None, :]) * present[:, :, None])
        avg_dev[nan_any] = np.nan
    masked_min[nan_any], masked_max[nan_any] = np.nan, np.nan
    # mode: value of the largest fraction; among ties, the smallest value (matminer's rule)
    top = np.isclose(fractions, fractions.max(axis=1, keepdims=True)) & present
    mode = np.where(top[:, :, None], values, np.inf).min(axis=1)
    stats = {
        "minimum": masked_min,
        "maximum": masked_max,
        "range": masked_max - masked_min,
        "mean": mean,
        "avg_dev": avg_dev,
        "mode": mode,
    }
    # matminer's order: for each property, the six statistics
    columns = [stats[s][:, j] for j in range(table.shape[1]) for s in STATS]
    return np.stack(columns, axis=1)


def standardised(features: np.ndarray) -> np.ndarray:
    """(x - mean) / std with the fixed MP-20 values; NaN -> 0."""
    means, stds = scaler()
    scaled = (features - means) / stds
    return np.nan_to_num(scaled, nan=0.0, posinf=0.0, neginf=0.0)


def fingerprints(compositions: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Standardised Magpie fingerprints, (n, 132)."""
    return standardised(magpie_features(compositions))
