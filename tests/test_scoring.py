"""Scoring: recorded failures, deduplication, checkpoints and resume, atomic outputs."""

import dataclasses
import time

import pandas as pd
import pytest

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.confidence import DatabaseChoice
from alloypref.calphad.tables import Structure, phase_table
from alloypref.io import read_parquet
from alloypref.reward import RewardConfig
from alloypref.scoring import (
    REWARDS_SCHEMA,
    ScoringOptions,
    read_triples,
    score_file,
    score_triples,
    split_triples,
)

GRID = (373.15, 1273.15)


class FakeBackend:
    """BCC + B2 at every temperature; counts calls; can fail, hang or crash on request."""

    name = "fake"

    def __init__(self, fail_on=(), hang_on=(), crash_after=None):
        self.calls = []
        self.fail_on, self.hang_on, self.crash_after = set(fail_on), set(hang_on), crash_after

    def elements(self):
        return {"Nb", "Mo", "Al", "Ni", "Ti"}

    def choose_database(self, composition):
        return ("fakedb", 1.0) if set(composition) <= self.elements() else (None, 0.0)

    def database_choices(self, composition, trust=None, untested_weight=0.5):
        return [DatabaseChoice("fakedb", 1.0, 1.0)] if set(composition) <= self.elements() else []

    def phase_table(self, composition, temperatures_K, database):
        key = "-".join(sorted(composition))
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(key)
        if key in self.fail_on:
            raise CalphadError("no converged equilibrium at 373.15 K")
        if key in self.hang_on:
            time.sleep(5)
        return phase_table(
            [
                {
                    "temperature_K": t,
                    "phase": p,
                    "structure": s,
                    "mole_fraction": 0.5,
                    "is_ordered": s == Structure.B2,
                    "order_parameter": 0.0,
                    "lattice_parameter_A": a,
                    "status": "ok",
                }
                for t in temperatures_K
                for p, s, a in (("BCC_B2#1", Structure.BCC, 3.0), ("BCC_B2#2", Structure.B2, 2.99))
                if t < max(temperatures_K) or s == Structure.BCC
            ]
        )


def triples(rows):
    return pd.DataFrame(rows, columns=["candidate_id", "bcc", "b2", "b2_volume_percent"])


# In-process (isolate=False) where a test counts the fake backend's calls; the worker process is
# exercised by the timeout tests.
OPTIONS = ScoringOptions(GRID, RewardConfig(), min_coverage=0.5, timeout_s=1.0, checkpoint_every=1, isolate=False)
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
    worst = RewardConfig().worst_reward
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
    assert by_id.loc["excluded", "reward"] == RewardConfig().worst_reward
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
    checkpoint = read_parquet(tmp_path / "rewards.parquet.checkpoint" / "rewards.parquet")
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
    assert [len(s) for s in shards] == [3, 3, 4]
    assert sorted(pd.concat(shards).candidate_id) == sorted(data.candidate_id)
    assert len(split_triples(data, 20)) == 20
