"""Simulator confidence: the pair summary's verdicts, the credit table, the database choice it drives,
and the cross-database check (a fake solver: the physics is not the point here)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alloypref.calphad.confidence import (
    PAIR_SUMMARY_SCHEMA,
    PairTrust,
    confidence_score,
    rank_databases,
    read_pair_summary,
)
from alloypref.calphad.databases import B2Formers, PairCoverage, coverage_score
from alloypref.calphad.tables import Structure, phase_table
from alloypref.evaluation.cross_database import agreement, cross_score, dpo_gain, sample_candidates
from alloypref.io import write_parquet
from alloypref.scoring import job_key, score_triples

from .helpers import OPTIONS, FakeBackend, triples

FIXTURE = Path(__file__).parent / "data" / "pair_summary.parquet"
FORMERS = B2Formers()


def full_coverage(elements):
    """A database with BCC and ordering data for every pair of ``elements``."""
    pairs = frozenset(frozenset((a, b)) for a in elements for b in elements if a < b)
    return PairCoverage(pairs, pairs, frozenset(elements))


# cost507 first: with coverage alone (a tie) it would win every candidate below
COVERAGES = {
    "cost507": full_coverage({"Al", "Ni", "Mo", "Nb"}),
    "mc_ni": full_coverage({"Al", "Ni", "Mo", "Nb", "Ti"}),
}


@pytest.fixture(scope="module")
def trust():
    return read_pair_summary(FIXTURE)


def test_pair_summary_verdicts(trust):
    assert trust.verdict("mc_ni", "Ni", "Al") is True
    assert trust.verdict("mc_ni", "Al", "Mo") is False
    assert trust.verdict("mc_ni", "Ti") is False  # a pure-element row
    assert trust.verdict("cost507", "Al", "Ni") is False
    assert trust.verdict("cost507", "Nb", "Ti") is None  # a row without facts says nothing
    assert trust.verdict("cost507", "Mo", "Ni") is None


def test_pair_summary_errors_name_the_file(tmp_path):
    frame = pd.read_parquet(FIXTURE)
    repeated = tmp_path / "repeated.parquet"
    write_parquet(pd.concat([frame, frame.iloc[[0]]]), repeated, PAIR_SUMMARY_SCHEMA)
    with pytest.raises(ValueError, match=r"repeated\.parquet.*'mc_ni', pair Al-Ni"):
        read_pair_summary(repeated)
    lacking = tmp_path / "lacking.parquet"
    write_parquet(frame.drop(columns="trusted"), lacking)
    with pytest.raises(ValueError, match=r"lacking\.parquet.*trusted"):
        read_pair_summary(lacking)


def test_credit_table(trust):
    # Al-Ni (w 0.125) trusted, Al-Mo (0.125) untrusted, Mo-Ni (0.0625) untested -> (0.125 + 0.03125) / 0.3125
    mixed = {"Al": 0.5, "Ni": 0.25, "Mo": 0.25}
    assert confidence_score(mixed, "mc_ni", COVERAGES["mc_ni"], FORMERS, trust) == pytest.approx(0.5)
    # Al-Ni untrusted, the other two untested -> (0.0625 + 0.03125) / 0.3125
    assert confidence_score(mixed, "cost507", COVERAGES["cost507"], FORMERS, trust) == pytest.approx(0.3)
    assert confidence_score(mixed, "cost507", COVERAGES["cost507"], FORMERS, trust, 1.0) == pytest.approx(0.6)
    # a trusted pair without its ordering data is not covered: no credit
    unordered = PairCoverage(COVERAGES["mc_ni"].bcc_pairs, frozenset(), COVERAGES["mc_ni"].elements)
    assert confidence_score({"Al": 0.5, "Ni": 0.5}, "mc_ni", unordered, FORMERS, trust) == 0.0
    # an element whose own facts disagree poisons its pairs; one element alone earns its own verdict
    assert confidence_score({"Nb": 0.5, "Ti": 0.5}, "mc_ni", COVERAGES["mc_ni"], FORMERS, trust) == 0.0
    assert confidence_score({"Ti": 1.0}, "mc_ni", COVERAGES["mc_ni"], FORMERS, trust) == 0.0
    assert confidence_score({"Al": 1.0}, "cost507", COVERAGES["cost507"], FORMERS, trust) == 1.0
    assert confidence_score({"Nb": 1.0}, "mc_ni", COVERAGES["mc_ni"], FORMERS, trust) == 0.5


def test_without_facts_confidence_is_half_the_coverage_and_the_choice_is_unchanged():
    coverages = {
        "a": PairCoverage(frozenset({frozenset(("Mo", "Nb"))}), frozenset(), frozenset({"Mo", "Nb", "W"})),
        "b": full_coverage({"Mo", "Nb", "W"}),
    }
    composition = {"Mo": 0.4, "Nb": 0.4, "W": 0.2}
    ranked = rank_databases(composition, coverages, FORMERS)
    assert [choice.database for choice in ranked] == ["b", "a"]
    for choice in ranked:
        expected = coverage_score(composition, coverages[choice.database], FORMERS)
        assert choice.coverage == pytest.approx(expected) and choice.confidence == pytest.approx(expected / 2)


def test_covered_but_untrusted_loses_to_trusted(trust):
    ranked = rank_databases({"Al": 0.5, "Ni": 0.5}, COVERAGES, FORMERS, trust)
    assert [(c.database, c.confidence, c.coverage) for c in ranked] == [("mc_ni", 1.0, 1.0), ("cost507", 0.0, 1.0)]
    # Ti is only in mc_ni: the only choice
    assert [c.database for c in rank_databases({"Ti": 0.5, "Ni": 0.5}, COVERAGES, FORMERS, trust)] == ["mc_ni"]


class TwoDatabaseBackend(FakeBackend):
    """mc_ni answers BCC + B2 (every rule met), cost507 BCC only (no B2); databases ranked as configured."""

    def database_choices(self, composition, trust=None, untested_weight=0.5):
        return rank_databases(composition, COVERAGES, FORMERS, trust, untested_weight)

    def __init__(self):
        super().__init__()
        self.databases_solved = []

    def phase_table(self, composition, temperatures_K, database):
        self.databases_solved.append(database)
        if database == "mc_ni":
            return super().phase_table(composition, temperatures_K, database)
        row = {"phase": "BCC_A2", "structure": Structure.BCC, "mole_fraction": 1.0, "is_ordered": False}
        return phase_table(
            [
                {**row, "temperature_K": t, "order_parameter": 0.0, "lattice_parameter_A": 3.0, "status": "ok"}
                for t in temperatures_K
            ]
        )


NIAL = [{"candidate_id": "c0", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 40.0}]


def test_scoring_uses_the_trusted_database_and_flags_low_confidence(trust):
    backend = TwoDatabaseBackend()
    row = score_triples(triples(NIAL), backend, OPTIONS, trust=trust)[0].iloc[0]
    assert (row.database, row.confidence, row.coverage, row.low_confidence) == ("mc_ni", 1.0, 1.0, False)
    assert row.all_rules
    untrusted = score_triples(triples(NIAL), backend, OPTIONS, trust=PairTrust())[0].iloc[0]
    assert (untrusted.database, untrusted.confidence, untrusted.low_confidence) == ("cost507", 0.5, False)
    forced = score_triples(triples(NIAL), backend, OPTIONS, trust=trust, database="cost507")[0].iloc[0]
    assert (forced.database, forced.confidence, forced.low_confidence) == ("cost507", 0.0, True)
    assert not forced.bcc_b2_exist
    titanium = [{"candidate_id": "t", "bcc": "Ti", "b2": "NiTi", "b2_volume_percent": 30.0}]
    lacking = score_triples(triples(titanium), backend, OPTIONS, trust=trust, database="cost507")[0].iloc[0]
    assert lacking.status == "invalid" and lacking.reason.startswith("database 'cost507' does not hold all of")


def test_checkpoint_key_holds_the_verdicts_and_the_forced_database(trust):
    backend, data = TwoDatabaseBackend(), triples(NIAL)
    keys = {
        job_key(data, backend, OPTIONS, trust=trust),
        job_key(data, backend, OPTIONS, trust=PairTrust()),
        job_key(data, backend, OPTIONS, trust=trust, database="cost507"),
    }
    assert len(keys) == 3
    assert job_key(data, backend, OPTIONS, trust=trust) == job_key(
        data, backend, OPTIONS, trust=read_pair_summary(FIXTURE)
    )


def test_cross_database_sample_and_agreement(trust):
    backend = TwoDatabaseBackend()
    rows = [{"candidate_id": f"n{i}", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 20.0 + i} for i in range(6)] + [
        {"candidate_id": "t0", "bcc": "Ti", "b2": "NiTi", "b2_volume_percent": 30.0}
    ]
    rewards = score_triples(triples(rows), backend, OPTIONS, trust=trust)[0]
    sampled = sample_candidates(rewards, backend, 4, seed=1, trust=trust)
    assert len(sampled) == 4 and "t0" not in set(sampled.candidate_id)  # Ti: one database only
    assert sampled.equals(sample_candidates(rewards, backend, 4, seed=1, trust=trust))
    table = cross_score(sampled, backend, ["cost507", "mc_ni"], OPTIONS, trust)
    assert len(table) == 8 and table.groupby("database")["chosen"].all().to_dict() == {"cost507": False, "mc_ni": True}
    # only the other database is solved again: the chosen one's answer is the reward row
    assert backend.databases_solved == ["mc_ni"] * 7 + ["cost507"] * 4
    summary = agreement({"src": table}, ["cost507", "mc_ni"]).iloc[0]
    assert summary.n == 4
    assert summary.agree_bcc_b2_exist == 0.0 and summary.agree_all_rules == 0.0
    assert summary.agree_others_exceed_10 == 1.0
    assert np.isnan(summary.pearson)  # a constant reward on each database has no correlation


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
                    "confidence": 1.0,
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
