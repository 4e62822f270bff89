"""Typed settings built from a job's ``params`` (kept apart from ``_common`` so that only the rules
using them import the config and reward modules, and only those rerun when those modules change)."""

from __future__ import annotations


def calphad_settings(params):
    """Typed CALPHAD settings from a job's params (``calphad``, ``element_roles``, optional ``reward``)."""
    from alloypref.config import calphad_settings as typed

    blocks = {"calphad": params.calphad, "element_roles": params.element_roles}
    if hasattr(params, "reward"):
        blocks["reward"] = params.reward
    return typed(blocks)


def trust_evidence(inputs, settings):
    """The weakest-link trust evidence of a scoring job: its inputs ``phase_checks`` (rule
    phase_inventory) and ``verdicts`` (rule database_report_card), judged on the scoring grid with the
    thresholds of config ``calphad.trust`` (``settings``: :func:`calphad_settings` of its params)."""
    from alloypref.calphad.trust import TrustEvidence

    return TrustEvidence.from_files(inputs.phase_checks, inputs.verdicts, settings.temperatures_K, settings.trust)


def reward_settings(params):
    """The reward settings (Eq. 1 weights and thresholds) of a job's ``params.reward``."""
    from alloypref.reward import RewardSettings

    return RewardSettings(**params.reward)
