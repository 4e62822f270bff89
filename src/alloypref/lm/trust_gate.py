"""Which scored samples a learner may take credit from: one rule for DPO pairs and GRPO rewards.

A sample is *creditable* when it was scored ``ok`` (its text parsed, both formulas well-formed and
of design-space elements, the solver answered), its database covers it (not ``low_coverage``, below
``calphad.min_coverage``) and that database is ``trusted`` for it (weakest-link trust,
:mod:`alloypref.calphad.trust`: no subsystem of the candidate fails a detection fact there or lacks
a competing phase that could form). Anything else — unparseable, malformed, outside the design
space, failed, low-coverage or untrusted — takes part in no DPO pair and gets the worst GRPO reward,
so neither learner is taught a parser's leniency or a database's blind spots. A missing value counts
against the sample (no status, coverage or trust: not creditable).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def creditable(status: pd.Series, low_coverage: pd.Series, trusted: pd.Series) -> pd.Series:
    """Per sample (aligned Series of the rewards table's ``status``, ``low_coverage`` and
    ``trusted``): whether a learner may take credit from it (module doc)."""
    covered = ~low_coverage.astype("boolean").fillna(True).astype(bool)
    return (status == "ok") & covered & trusted.astype("boolean").fillna(False).astype(bool)


def creditable_row(row: Mapping) -> bool:
    """:func:`creditable` of one scored row (a mapping with the rewards table's columns), without
    building a table: GRPO asks this once per completion."""
    low_coverage, trusted = row.get("low_coverage"), row.get("trusted")
    known = not (pd.isna(low_coverage) or pd.isna(trusted))
    return bool(row.get("status") == "ok" and known and not low_coverage and trusted)
