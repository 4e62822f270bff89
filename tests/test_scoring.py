"""Scoring: recorded failures, deduplication, checkpoints and resume, atomic outputs, and the choice
of database by weakest-link trust."""

import dataclasses
import os
import time

import pandas as pd
import pytest

from alloypref.calphad.trust import TrustSettings
from alloypref.io import read_parquet
from alloypref.ledger import ledger_rows
from alloypref.reward import RewardSettings
from alloypref.scoring import (
    REWARDS_SCHEMA,
    balance_groups,
    job_key,
    read_triples,
    score_file,
    score_triples,
    split_triples,
)
from alloypref.scoring.checkpoint import read_checkpoint

from .helpers import OPTIONS, FakeBackend, TwoDatabaseBackend, triples, trust_evidence

ISOLATED = dataclasses.replace(OPTIONS, isolate=True)


def test_invalid_and_failed_candidates_are_rows_with_reasons():
    data = triples(
        [
            ("ok", "Nb", "NiAl", 30.0),
            ("badformula", "Xx2", "NiAl", 30.0),
            ("badvolume", "Nb", "NiAl", 130.0),
            ("nodb", "Nb", "RuAl", 30.0),
            ("solver", "Mo", "NiAl", 30.0),
        ]
    )
    backend = FakeBackend(fail_on={"Al-Mo-Ni"})
    rewards, tables = score_triples(data, backend, OPTIONS)
    by_id = rewards.set_index("candidate_id")
    assert list(rewards.candidate_id) == list(data.candidate_id)
    assert by_id.loc["ok", "status"] == "ok"
    assert by_id.loc["ok", "reward"] == pytest.approx(-0.01)
    assert by_id.loc["badformula", "status"] == "invalid" and "Xx2" in by_id.loc["badformula", "reason"]
    assert "130" in by_id.loc["badvolume", "reason"]
    assert by_id.loc["nodb", "status"] == "invalid" and "Ru" in by_id.loc["nodb", "reason"]
    assert by_id.loc["solver", "status"] == "failed" and "converged" in by_id.loc["solver", "reason"]
    worst = RewardSettings().worst_reward
    assert (by_id.loc[["badformula", "badvolume", "nodb", "solver"], "reward"] == worst).all()
    assert set(tables.candidate_id) == {"ok"}
    assert list(rewards.columns) == REWARDS_SCHEMA.names


def test_a_sample_the_parser_rejected_is_invalid_and_never_scored(tmp_path):
    """``unknown_element``: well-formed formulas of an element the design space excludes (Ti here)."""
    samples = triples(
        [("parsed", "Nb", "NiAl", 30.0), ("excluded", "Nb", "TiNi", 30.0), ("garbled", "", "", float("nan"))]
    )
    samples["status"] = ["ok", "unknown_element", "unparseable"]
    samples["reason"] = ["", "element Ti is not in the design space", "expected tags"]
    path = tmp_path / "samples.parquet"
    samples.to_parquet(path)
    read = read_triples(path)
    assert list(read.parse_status) == ["ok", "unknown_element", "unparseable"]
    backend = FakeBackend()
    rewards, tables = score_triples(read, backend, OPTIONS)
    by_id = rewards.set_index("candidate_id")
    assert backend.calls == ["Al-Nb-Ni"]  # Nb + TiNi was never handed to the solver
    assert by_id.loc["excluded", "status"] == "invalid"
    assert by_id.loc["excluded", "reason"].startswith("unknown_element")
    assert by_id.loc["excluded", "reward"] == RewardSettings().worst_reward
    assert by_id.loc["excluded", "master_composition"] == ""  # so Table 1 counts it as not parsed
    assert by_id.loc["garbled", "reason"].startswith("unparseable")
    assert set(tables.candidate_id) == {"parsed"}


def test_timeout_is_a_recorded_failure():
    backend = FakeBackend(hang_on={"Al-Ni-Ti"})
    rewards, _ = score_triples(triples([("slow", "Ti", "NiAl", 30.0), ("fast", "Nb", "NiAl", 30.0)]), backend, ISOLATED)
    by_id = rewards.set_index("candidate_id")
    assert by_id.loc["slow", "status"] == "failed" and "timed out" in by_id.loc["slow", "reason"]
    assert by_id.loc["fast", "status"] == "ok"


def test_identical_master_compositions_are_computed_once():
    data = triples([("a", "Nb", "NiAl", 50.0), ("b", "Nb2", "AlNi", 50.0), ("c", "Nb", "NiAl", 40.0)])
    backend = FakeBackend()
    rewards, tables = score_triples(data, backend, OPTIONS)
    assert len(backend.calls) == 2
    assert rewards.set_index("candidate_id").loc["b", "reward"] == rewards.set_index("candidate_id").loc["a", "reward"]
    assert set(tables.candidate_id) == {"a", "b", "c"}


def test_killed_run_resumes_without_recomputing(tmp_path):
    data = triples([(f"c{i}", "Nb", "NiAl", 20.0 + i) for i in range(6)])
    out, tables = tmp_path / "rewards.parquet", tmp_path / "tables.parquet"
    data.to_parquet(tmp_path / "triples.parquet")
    with pytest.raises(KeyboardInterrupt):
        score_file(tmp_path / "triples.parquet", out, tables, FakeBackend(crash_after=4), OPTIONS, show_progress=False)
    assert not out.exists()  # no half-written output under the final name
    _, checkpoint, _ = read_checkpoint(tmp_path / "rewards.parquet.checkpoint")
    assert len(checkpoint) == 4
    resumed = FakeBackend()
    rewards = score_file(tmp_path / "triples.parquet", out, tables, resumed, OPTIONS, show_progress=False)
    assert len(resumed.calls) == 2  # only the candidates not yet scored
    assert list(rewards.candidate_id) == list(data.candidate_id)
    assert (rewards.status == "ok").all()
    assert not (tmp_path / "rewards.parquet.checkpoint").exists()
    assert len(read_parquet(tables)) == 6 * 3  # 2 rows at 373 K, 1 at 1273 K


def test_split_keeps_element_sets_together_and_every_row():
    data = triples([(f"c{i}", ["Nb", "Mo", "Ti"][i % 3], "NiAl", 30.0) for i in range(10)])
    shards = split_triples(data, 3)
    assert sorted(len(s) for s in shards) == [3, 3, 4]
    for shard in shards:  # one element set per shard here: three sets, three shards
        assert shard.bcc.nunique() == 1
        assert list(shard.candidate_id) == sorted(shard.candidate_id)
    assert sorted(pd.concat(shards).candidate_id) == sorted(data.candidate_id)
    assert len(split_triples(data, 20)) == 20


def test_split_balances_estimated_cost_not_rows():
    """A 6-element set costs more to build than many candidates of a 3-element one."""
    big = [(f"big{i}", "Nb40Mo20Cr40", "CoAlTi2", 20.0 + i) for i in range(2)]  # 6 elements
    small = [(f"s{e}{i}", e, "NiAl", 20.0 + i) for e in ("Nb", "Mo", "Ti", "V") for i in range(3)]  # 3 each
    shards = split_triples(triples(big + small), 2)
    with_big = [s for s in shards if s.candidate_id.str.startswith("big").any()]
    assert len(with_big) == 1 and with_big[0].candidate_id.str.startswith("big").sum() == 2
    assert sorted(len(s) for s in shards) == [2, 12]  # 28 + 1.5 s against 4 x (4.5 + 2.2) s


def test_split_cuts_only_a_set_that_alone_outweighs_a_fair_shard():
    crowded = [(f"n{i:02d}", "Nb", "NiAl", 20.0 + i) for i in range(40)]  # 4.5 + 40 x 0.73 s
    few = [(f"m{i}", "Mo", "NiAl", 20.0 + i) for i in range(2)]
    shards = split_triples(triples(crowded + few), 2)
    assert sorted(len(s) for s in shards) == [20, 22]  # 20 + 20 of Nb, the Mo set whole beside one half
    mo = [s for s in shards if s.candidate_id.str.startswith("m").any()]
    assert len(mo) == 1 and mo[0].candidate_id.str.startswith("m").sum() == 2
    assert sorted(pd.concat(shards).candidate_id) == sorted(c[0] for c in crowded + few)


def test_split_spreads_triples_without_a_solve():
    data = triples([(f"bad{i}", "Xx2", "NiAl", 30.0) for i in range(4)] + [("ok", "Nb", "NiAl", 30.0)])
    shards = split_triples(data, 4)
    assert sorted(len(s) for s in shards) == [1, 1, 1, 2]


def test_balance_groups_is_longest_first_and_deterministic():
    assert balance_groups({"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0}, 2) == {"a": 0, "b": 1, "c": 1, "d": 0}
    with pytest.raises(ValueError, match="shards must be from 1 to 1,024, got 0"):
        balance_groups({"a": 1.0}, 0)


class PidBackend(FakeBackend):
    """Writes which process solved which element set (the solve runs in a forked worker)."""

    def __init__(self, log_path, **kwargs):
        super().__init__(**kwargs)
        self.log_path = log_path

    def phase_table(self, composition, temperatures_K, database):
        with open(self.log_path, "a") as handle:
            handle.write(f"{os.getpid()} {'-'.join(sorted(composition))}\n")
        time.sleep(0.05)
        return super().phase_table(composition, temperatures_K, database)


def test_workers_take_whole_element_sets_and_agree_with_one_worker(tmp_path):
    data = triples([(f"{e}{i}", e, "NiAl", 20.0 + 5 * i) for e in ("Nb", "Mo", "Ti") for i in range(3)])
    one, _ = score_triples(data, PidBackend(tmp_path / "one.log"), ISOLATED)
    backend = PidBackend(tmp_path / "three.log", hang_on={"Al-Ni-Ti"})
    three, tables = score_triples(data, backend, dataclasses.replace(ISOLATED, workers=3))
    solved = [line.split() for line in (tmp_path / "three.log").read_text().splitlines()]
    sets_of = {}
    for pid, elements in solved:
        sets_of.setdefault(elements, set()).add(pid)
    assert all(len(pids) == 1 for elements, pids in sets_of.items() if elements != "Al-Ni-Ti")  # one worker each
    assert len({pid for pids in sets_of.values() for pid in pids}) >= 3  # the sets ran in parallel
    by_id = three.set_index("candidate_id")
    assert (by_id.loc[["Ti0", "Ti1", "Ti2"], "status"] == "failed").all()  # each timed out alone
    assert by_id.loc[["Ti0", "Ti1", "Ti2"], "reason"].str.contains("timed out").all()
    others = [c for c in data.candidate_id if not c.startswith("Ti")]
    assert (by_id.loc[others, "status"] == "ok").all()
    columns = ["candidate_id", "status", "reward", "database"]
    assert (
        three.loc[three.candidate_id.isin(others), columns]
        .reset_index(drop=True)
        .equals(one.loc[one.candidate_id.isin(others), columns].reset_index(drop=True))
    )
    assert list(three.candidate_id) == list(data.candidate_id)
    assert set(tables.candidate_id) == set(others)


# -- the database choice by weakest-link trust ---------------------------------------------------

NIAL = [{"candidate_id": "c0", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 40.0}]


def test_a_failed_detection_fact_untrusts_the_candidate_and_moves_it_to_the_trusted_database():
    backend = TwoDatabaseBackend()
    evidence = trust_evidence({"mc_ni": {"Al-Ni": ["det-AlNi-liquid"]}})
    row = score_triples(triples(NIAL), backend, OPTIONS, trust_evidence=evidence)[0].iloc[0]
    # mc_ni comes first in config, but fails an Al-Ni detection fact: scored on cost507, trusted
    assert (row.database, bool(row.trusted), row.trust_reason, row.status) == ("cost507", True, "", "ok")
    assert not row.bcc_b2_exist  # cost507's answer, not mc_ni's
    forced = score_triples(triples(NIAL), backend, OPTIONS, trust_evidence=evidence, database="mc_ni")[0].iloc[0]
    assert forced.database == "mc_ni" and not forced.trusted and forced.status == "ok"
    assert "det-AlNi-liquid" in forced.trust_reason and forced.trust_reason.startswith("Al-Ni")
    # both untrusted: the one with fewer reasons (mc_ni, one against two) is chosen, and says why
    both_fail = trust_evidence({"mc_ni": {"Al-Ni": ["f1"]}, "cost507": {"Ni": ["f2"], "Al": ["f3"]}})
    worst = score_triples(triples(NIAL), backend, OPTIONS, trust_evidence=both_fail)[0].iloc[0]
    assert (worst.database, bool(worst.trusted), worst.trust_reason) == (
        "mc_ni",
        False,
        "Al-Ni: mc_ni fails detection fact(s) f1",
    )


def test_trust_reason_names_the_missing_database_and_unused_rows():
    backend = TwoDatabaseBackend()
    evidence = trust_evidence({})
    rows = [
        {"candidate_id": "lacking", "bcc": "Ti", "b2": "NiTi", "b2_volume_percent": 30.0},
        {"candidate_id": "bad", "bcc": "Xx2", "b2": "NiAl", "b2_volume_percent": 30.0},
    ]
    by_id = score_triples(triples(rows), backend, OPTIONS, trust_evidence=evidence, database="cost507")[0].set_index(
        "candidate_id"
    )
    assert by_id.loc["lacking", "status"] == "invalid" and not by_id.loc["lacking", "trusted"]
    assert by_id.loc["lacking", "trust_reason"].startswith("database 'cost507' does not hold all of")
    assert (by_id.loc["bad", "trusted"], by_id.loc["bad", "trust_reason"]) == (False, "no database used")
    nodb = score_triples(triples([("n", "Nb", "RuAl", 30.0)]), FakeBackend(), OPTIONS)[0].iloc[0]
    assert nodb.trust_reason.startswith("no configured database holds all of") and "Ru" in nodb.trust_reason


def test_without_evidence_nothing_is_trusted_and_the_configured_order_decides():
    row = score_triples(triples(NIAL), TwoDatabaseBackend(), OPTIONS)[0].iloc[0]
    assert (row.database, bool(row.trusted)) == ("mc_ni", False)
    assert "no trust evidence" in row.trust_reason


def test_checkpoint_key_holds_the_evidence_its_thresholds_and_the_forced_database():
    backend, data = TwoDatabaseBackend(), triples(NIAL)
    fails = trust_evidence({"mc_ni": {"Al-Ni": ["f1"]}})
    keys = {
        job_key(data, backend, OPTIONS, trust_evidence=fails),
        job_key(data, backend, OPTIONS, trust_evidence=trust_evidence({})),
        job_key(
            data,
            backend,
            OPTIONS,
            trust_evidence=trust_evidence(
                {"mc_ni": {"Al-Ni": ["f1"]}}, settings=TrustSettings(min_competing_fraction=0.2)
            ),
        ),
        job_key(data, backend, OPTIONS, trust_evidence=None),
        job_key(data, backend, OPTIONS, trust_evidence=fails, database="cost507"),
    }
    assert len(keys) == 5
    assert job_key(data, backend, OPTIONS, trust_evidence=fails) == job_key(
        data, backend, OPTIONS, trust_evidence=trust_evidence({"mc_ni": {"Al-Ni": ["f1"]}})
    )


def test_a_checkpoint_made_with_other_evidence_is_discarded(tmp_path):
    data = triples([(f"c{i}", "Ni", "NiAl", 20.0 + i) for i in range(6)])
    out, tables = tmp_path / "rewards.parquet", tmp_path / "tables.parquet"
    data.to_parquet(tmp_path / "triples.parquet")
    old = trust_evidence({})  # mc_ni trusted: every candidate scored there
    crashing = TwoDatabaseBackend()
    crashing.crash_after = 4
    with pytest.raises(KeyboardInterrupt):
        score_file(
            tmp_path / "triples.parquet", out, tables, crashing, OPTIONS, show_progress=False, trust_evidence=old
        )
    _, checkpoint, _ = read_checkpoint(tmp_path / "rewards.parquet.checkpoint")
    assert len(checkpoint) == 4 and set(checkpoint.database) == {"mc_ni"}
    new = trust_evidence({"mc_ni": {"Al-Ni": ["det-AlNi-liquid"]}})  # the report card learnt better
    resumed = TwoDatabaseBackend()
    rewards = score_file(
        tmp_path / "triples.parquet", out, tables, resumed, OPTIONS, show_progress=False, trust_evidence=new
    )
    assert resumed.databases_solved == ["cost507"] * 6  # nothing kept from the old checkpoint
    assert set(rewards.database) == {"cost507"} and rewards.trusted.all()
    assert list(rewards.columns) == REWARDS_SCHEMA.names


def test_thermocalc_is_trusted_only_by_evidence_made_for_its_database():
    from types import SimpleNamespace

    from alloypref.calphad.thermocalc_backend import ThermoCalcBackend

    backend = SimpleNamespace(database_name="TCHEA7")  # no tc-python here: the method alone
    master = {"Al": 0.2, "Ni": 0.8}

    def choice(evidence):
        (only,) = ThermoCalcBackend.database_choices(backend, master, evidence)
        return only.database, only.verdict.trusted, only.verdict.why

    assert choice(None)[:2] == ("TCHEA7", False) and "TCHEA7" in choice(None)[2]
    # the open databases' evidence says nothing about TCHEA7
    assert choice(trust_evidence({}))[:2] == ("TCHEA7", False)
    assert choice(trust_evidence({}, databases=("TCHEA7",))) == ("TCHEA7", True, "")
    failing = trust_evidence({"TCHEA7": {"Al-Ni": ["f1"]}}, databases=("TCHEA7",))
    assert choice(failing)[:2] == ("TCHEA7", False) and "f1" in choice(failing)[2]


MIN = dataclasses.replace(OPTIONS, database_aggregate="min")


def test_first_scores_on_the_rankings_first_database_alone():
    backend = TwoDatabaseBackend()
    rewards, tables = score_triples(triples(NIAL), backend, OPTIONS, trust_evidence=trust_evidence({}))
    row = rewards.iloc[0]
    assert OPTIONS.database_aggregate == "first"
    assert backend.databases_solved == ["mc_ni"]
    assert (row.database, int(row.databases_solved), bool(row.all_rules)) == ("mc_ni", 1, True)


def test_min_keeps_the_lower_reward_of_every_trusted_database():
    both = trust_evidence({})
    first_row = score_triples(triples(NIAL), TwoDatabaseBackend(), OPTIONS, trust_evidence=both)[0].iloc[0]
    backend = TwoDatabaseBackend()
    rewards, tables = score_triples(triples(NIAL), backend, MIN, trust_evidence=both)
    row = rewards.iloc[0]
    assert sorted(backend.databases_solved) == ["cost507", "mc_ni"]
    # cost507 finds no B2: its reward is below mc_ni's, and its row and phase table are kept
    assert (row.database, int(row.databases_solved), bool(row.trusted), row.status) == ("cost507", 2, True, "ok")
    assert row.reward < first_row.reward and not row.bcc_b2_exist
    assert set(tables.phase) == {"BCC_A2"}
    isolated = dataclasses.replace(ISOLATED, database_aggregate="min", workers=2)
    in_workers = score_triples(triples(NIAL), TwoDatabaseBackend(), isolated, trust_evidence=both)[0].iloc[0]
    assert (in_workers.database, int(in_workers.databases_solved), in_workers.reward) == ("cost507", 2, row.reward)


def test_min_solves_no_untrusted_database():
    backend = TwoDatabaseBackend()
    mc_ni_fails = trust_evidence({"mc_ni": {"Al-Ni": ["det-AlNi-liquid"]}})
    row = score_triples(triples(NIAL), backend, MIN, trust_evidence=mc_ni_fails)[0].iloc[0]
    assert backend.databases_solved == ["cost507"]
    assert (row.database, int(row.databases_solved)) == ("cost507", 1)
    # none trusted: the ranking's first (fewer reasons: mc_ni), as under first
    none_trusted = trust_evidence({"mc_ni": {"Al-Ni": ["f1"]}, "cost507": {"Ni": ["f2"], "Al": ["f3"]}})
    backend = TwoDatabaseBackend()
    row = score_triples(triples(NIAL), backend, MIN, trust_evidence=none_trusted)[0].iloc[0]
    assert backend.databases_solved == ["mc_ni"]
    assert (row.database, int(row.databases_solved), bool(row.trusted)) == ("mc_ni", 1, False)


def test_min_counts_each_database_solve_as_a_ledger_call_and_duplicates_cost_no_solve():
    rows = [
        {"candidate_id": "a", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 40.0},
        {"candidate_id": "a_again", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 40.0},
        {"candidate_id": "a_respelt", "bcc": "Ni1", "b2": "AlNi", "b2_volume_percent": 40.0},
        # a new triple to the ledger (volume 40.01 %, not 40.00 %), of a's master composition to 1e-4
        {"candidate_id": "twin", "bcc": "Ni", "b2": "NiAl", "b2_volume_percent": 40.006},
        {"candidate_id": "bad", "bcc": "Xx2", "b2": "NiAl", "b2_volume_percent": 40.0},
    ]
    backend = TwoDatabaseBackend()
    rewards = score_triples(triples(rows), backend, MIN, trust_evidence=trust_evidence({}))[0]
    assert len(backend.databases_solved) == 2  # one composition, solved once on each database
    assert rewards.set_index("candidate_id")["databases_solved"].to_dict() == {
        "a": 2,
        "a_again": 2,
        "a_respelt": 2,
        "twin": 2,
        "bad": 0,
    }
    assert rewards["databases_solved"].dtype == "int64"
    # "a_again" and "a_respelt" are triple "a" again; "twin" a new triple, counted as its own calls
    # though solved with "a" (as under first): two triples, two solves each
    assert ledger_rows([("round1", rewards)], "m")["calls"].tolist() == [4]
    first = score_triples(triples(rows), TwoDatabaseBackend(), OPTIONS, trust_evidence=trust_evidence({}))[0]
    assert ledger_rows([("round1", first)], "m")["calls"].tolist() == [2]


def test_the_database_aggregate_is_in_the_checkpoint_key_and_checked():
    data, evidence = triples(NIAL), trust_evidence({})
    assert job_key(data, TwoDatabaseBackend(), OPTIONS, trust_evidence=evidence) != job_key(
        data, TwoDatabaseBackend(), MIN, trust_evidence=evidence
    )
    with pytest.raises(ValueError, match="database_aggregate.*'mean'"):
        dataclasses.replace(OPTIONS, database_aggregate="mean")
