"""The cross-database check: a sample scored on every database that can compute it, agreement over
the candidates both databases trust, and the DPO gain on the other database (a fake solver: the
physics is not the point here)."""

import numpy as np
import pandas as pd
import pytest

from alloypref.evaluation.cross_database import agreement, cross_score, dpo_gain, sample_candidates
from alloypref.scoring import score_triples

from .helpers import OPTIONS, TwoDatabaseBackend, triples, trust_evidence

DATABASES = ["cost507", "mc_ni"]


def score_triples_ok(rows, backend, evidence):
    return score_triples(triples(rows), backend, OPTIONS, trust_evidence=evidence)[0]


def nial_rows(n):
    return [{"candidate_id": f"n{i}", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 20.0 + i} for i in range(n)]


def test_cross_database_sample_and_agreement_over_trusted_candidates():
    backend = TwoDatabaseBackend()
    evidence = trust_evidence({})  # both trusted: mc_ni, first in config, is chosen
    rows = nial_rows(6) + [{"candidate_id": "t0", "bcc": "Ti", "b2": "NiTi", "b2_volume_percent": 30.0}]
    rewards = score_triples_ok(rows, backend, evidence)
    sampled = sample_candidates(rewards, backend, 4, seed=1, trust_evidence=evidence)
    assert len(sampled) == 4 and "t0" not in set(sampled.candidate_id)  # Ti: one database only
    assert sampled.equals(sample_candidates(rewards, backend, 4, seed=1, trust_evidence=evidence))
    table = cross_score(sampled, backend, DATABASES, OPTIONS, evidence)
    assert len(table) == 8 and table.groupby("database")["chosen"].all().to_dict() == {"cost507": False, "mc_ni": True}
    assert table.trusted.all() and (table.trust_reason == "").all()
    # only the other database is solved again: the chosen one's answer is the reward row
    assert backend.databases_solved == ["mc_ni"] * 7 + ["cost507"] * 4
    summary = agreement({"src": table}, DATABASES).iloc[0]
    assert (summary.n, summary.n_untrusted) == (4, 0)
    assert summary.agree_bcc_b2_exist == 0.0 and summary.agree_all_rules == 0.0
    assert summary.agree_others_exceed_10 == 1.0
    # mc_ni says BCC and B2 coexist, cost507 says no: all four split, no yes or no in common
    assert (summary.n_rule1_yes_both, summary.n_rule1_no_both, summary.n_rule1_split) == (0, 0, 4)
    assert summary.agree_rule1_yes == 0.0 and summary.agree_rule1_no == 0.0
    assert np.isnan(summary.pearson)  # a constant reward on each database has no correlation


def test_a_candidate_one_database_does_not_trust_counts_for_no_agreement():
    backend = TwoDatabaseBackend()
    evidence = trust_evidence({"cost507": {"Al-Ni": ["det-AlNi-b2"]}})
    rewards = score_triples_ok(nial_rows(3), backend, evidence)
    assert set(rewards.database) == {"mc_ni"} and rewards.trusted.all()
    table = cross_score(rewards, backend, DATABASES, OPTIONS, evidence)
    other = table[~table.chosen]
    assert not other.trusted.any() and other.trust_reason.str.contains("det-AlNi-b2").all()
    summary = agreement({"src": table}, DATABASES).iloc[0]
    assert (summary.n, summary.n_untrusted) == (0, 3)
    assert np.isnan(summary.agree_bcc_b2_exist) and np.isnan(summary.agree_rule1_yes)


def rule1_table(pairs):
    """A cross-database table of candidates ok and trusted on both, rule 1 on (cost507, mc_ni)."""
    rows = []
    for i, flags in enumerate(pairs):
        for database, flag in zip(DATABASES, flags, strict=True):
            rows.append(
                {
                    "candidate_id": f"c{i}",
                    "database": database,
                    "chosen": database == "mc_ni",
                    "trusted": True,
                    "status": "ok",
                    "reward": float(i),
                    "bcc_b2_exist": flag,
                    "bcc_forms_first": False,
                    "b2_room_temp": False,
                    "others_exceed_10": False,
                    "all_rules": False,
                }
            )
    return pd.DataFrame(rows)


def test_rule1_agreement_on_yes_apart_from_agreement_on_no():
    # 1 yes-yes, 6 no-no, 2 split: overall 7/9 agree, but a "yes" is matched only 2/4 of the time
    flags = [(True, True)] + [(False, False)] * 6 + [(True, False), (False, True)]
    summary = agreement({"src": rule1_table(flags)}, DATABASES).iloc[0]
    assert summary.agree_bcc_b2_exist == pytest.approx(7 / 9)
    assert (summary.n_rule1_yes_both, summary.n_rule1_no_both, summary.n_rule1_split) == (1, 6, 2)
    assert summary.agree_rule1_yes == pytest.approx(2 / 4)
    assert summary.agree_rule1_no == pytest.approx(12 / 14)


def cross_rows(stage_rewards):
    """A cross-database table: per candidate (chosen reward, other reward, other status)."""
    rows = []
    for i, (chosen, other, status) in enumerate(stage_rewards):
        for database, reward, st, is_chosen in (("mc_ni", chosen, "ok", True), ("cost507", other, status, False)):
            rows.append(
                {
                    "candidate_id": f"c{i}",
                    "database": database,
                    "chosen": is_chosen,
                    "trusted": True,
                    "coverage": 1.0,
                    "status": st,
                    "reward": reward,
                    "all_rules": reward > -5,
                }
            )
    return pd.DataFrame(rows)


def test_dpo_gain_on_the_other_database():
    cross = {
        "m-sft": cross_rows([(-10.0, -20.0, "ok"), (-10.0, -20.0, "ok")]),
        # the second candidate failed on the other database: the worst reward, failing
        "m-dpo": cross_rows([(-1.0, -1.0, "ok"), (-1.0, -1.0, "failed")]),
    }
    row = dpo_gain(cross, ["m"], worst_reward=-1121.0).iloc[0]
    assert (row.n_sft, row.n_dpo) == (2, 2)
    assert row.reward_gain_chosen == pytest.approx(9.0)
    assert row.reward_gain_other == pytest.approx((-1 - 1121) / 2 + 20)
    assert not pd.isna(row.reward_gain_holds) and not row.reward_gain_holds
    assert row.all_rules_gain_chosen == pytest.approx(1.0) and row.all_rules_gain_other == pytest.approx(0.5)
    assert bool(row.all_rules_gain_holds) is True
