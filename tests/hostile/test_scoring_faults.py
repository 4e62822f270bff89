"""Faults while scoring: a candidate that hangs, spins or kills its process is a recorded failure
and the shard goes on; a checkpoint made from anything else is discarded, never merged."""

import ctypes
import dataclasses
import faulthandler
import io
import logging
import os
import signal
import time
import zipfile

import pandas as pd
import pyarrow.parquet as pq
import pytest

from alloypref.calphad.cache import CacheTrustError
from alloypref.calphad.databases import DatabaseError
from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import checkpoint, job_key, score_file, score_triples
from alloypref.scoring.checkpoint import CHECKPOINT_FILE, read_checkpoint

from ..helpers import OPTIONS, FakeBackend, triples

WORKER = dataclasses.replace(OPTIONS, isolate=True, timeout_s=1.0)


def swallow_alarm():
    """What a broad ``except Exception`` around a slow step does to a signal-alarm timeout."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            time.sleep(0.05)
        except Exception:
            pass


def spin():
    while True:
        try:
            sum(range(10**6))
        except BaseException:
            pass


FAULTS = {
    "hang inside a broad except": (swallow_alarm, "timed out after 1 s"),
    "busy loop catching BaseException": (spin, "timed out after 1 s"),
    "process exits": (lambda: os._exit(3), "exit code 3"),
    "process is SIGKILLed": (lambda: os.kill(os.getpid(), signal.SIGKILL), "exit code -9"),
    "segmentation fault": (lambda: (faulthandler.disable(), ctypes.string_at(0)), "exit code -11"),
    "out of memory": (lambda: (_ for _ in ()).throw(MemoryError("simulated")), "MemoryError"),
    "unexpected exception": (lambda: {}["missing"], "KeyError"),
}


class FaultyBackend(FakeBackend):
    def __init__(self, fault):
        super().__init__()
        self.fault = fault

    def phase_table(self, composition, temperatures_K, database):
        if "Ti" in composition:
            self.fault()
        return super().phase_table(composition, temperatures_K, database)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_in_one_candidate_is_a_failed_row_and_the_shard_goes_on(fault):
    action, reason = FAULTS[fault]
    data = triples([("a", "Nb", "NiAl", 30.0), ("bad", "Ti", "NiAl", 30.0), ("c", "Mo", "NiAl", 30.0)])
    started = time.perf_counter()
    rewards, _ = score_triples(data, FaultyBackend(action), WORKER)
    assert time.perf_counter() - started < 20
    by_id = rewards.set_index("candidate_id")
    assert by_id.loc["bad", "status"] == "failed" and reason in by_id.loc["bad", "reason"]
    assert by_id.loc["bad", "reward"] == OPTIONS.reward.worst_reward
    assert (by_id.loc[["a", "c"], "status"] == "ok").all()


@pytest.mark.parametrize(
    "error", [CacheTrustError("refusing to use the CALPHAD cache: x"), DatabaseError("database 'x': bad")]
)
def test_configuration_errors_stop_the_job_instead_of_failing_rows(error):
    def raise_it():
        raise error

    with pytest.raises(type(error), match=str(error)[:20]):
        score_triples(triples([("bad", "Ti", "NiAl", 30.0)]), FaultyBackend(raise_it), WORKER)


SIX = triples([(f"c{i}", "Nb", "NiAl", 20.0 + i) for i in range(6)])


def interrupted_run(tmp_path, data=SIX, options=OPTIONS, key_extra=None, expect_rows=4):
    """Score until the backend 'dies' after 4 candidates: leaves a checkpoint of ``expect_rows`` rows."""
    data.to_parquet(tmp_path / "triples.parquet")
    with pytest.raises(KeyboardInterrupt):
        score_file(
            tmp_path / "triples.parquet",
            tmp_path / "r.parquet",
            tmp_path / "t.parquet",
            FakeBackend(crash_after=4),
            options,
            show_progress=False,
            key_extra=key_extra,
        )
    if expect_rows is not None:
        assert len(read_checkpoint(tmp_path / "r.parquet.checkpoint")[1]) == expect_rows


def rerun(tmp_path, data=SIX, options=OPTIONS, key_extra=None):
    data.to_parquet(tmp_path / "triples.parquet")
    backend = FakeBackend()
    rewards = score_file(
        tmp_path / "triples.parquet",
        tmp_path / "r.parquet",
        tmp_path / "t.parquet",
        backend,
        options,
        show_progress=False,
        key_extra=key_extra,
    )
    assert list(rewards.candidate_id) == list(data.candidate_id)
    return rewards, backend


CHANGES = {
    "temperature grid": dict(options=dataclasses.replace(OPTIONS, temperatures_K=(373.15, 773.15, 1273.15))),
    "reward weights": dict(
        options=dataclasses.replace(OPTIONS, reward=dataclasses.replace(OPTIONS.reward, weight_b2_room_temp=5.0))
    ),
    "code version": dict(key_extra={"code": "other"}),
    "triples under the same ids": dict(data=SIX.assign(bcc="Mo")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_checkpoint_of_other_inputs_is_discarded(tmp_path, change, caplog):
    """A kill, a changed input, a rerun: the old rows were merged in by candidate_id."""
    interrupted_run(tmp_path)
    with caplog.at_level(logging.WARNING):
        rewards, backend = rerun(tmp_path, **CHANGES[change])
    assert "discarding checkpoint" in caplog.text
    assert len(backend.calls) == 6  # everything recomputed
    assert rewards.candidate_id.is_unique and len(rewards) == 6
    if change == "triples under the same ids":
        assert (rewards.bcc == "Mo").all() and (rewards.elements == "Al-Mo-Ni").all()
    if change == "temperature grid":
        assert len(read_parquet(tmp_path / "t.parquet")) == 6 * 5


def test_checkpoint_of_the_same_inputs_is_resumed(tmp_path):
    interrupted_run(tmp_path, key_extra={"code": "v1"})
    rewards, backend = rerun(tmp_path, key_extra={"code": "v1"})
    assert len(backend.calls) == 2 and (rewards.status == "ok").all()


def older_layout(folder):
    """The three separately written files of checkpoint format 4."""
    (folder / CHECKPOINT_FILE).unlink()
    (folder / "key.json").write_text('{"key": "x"}', encoding="utf-8")
    write_parquet(SIX, folder / "rewards.parquet")


def rewards_of_another_schema(folder):
    with zipfile.ZipFile(folder / CHECKPOINT_FILE) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    SIX.to_parquet(buffer)
    members["rewards.parquet"] = buffer.getvalue()
    with zipfile.ZipFile(folder / CHECKPOINT_FILE, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def truncate(folder):
    data = (folder / CHECKPOINT_FILE).read_bytes()
    (folder / CHECKPOINT_FILE).write_bytes(data[: len(data) // 2])


DAMAGE = {
    "older layout (three files)": older_layout,
    "garbage file": lambda d: (d / CHECKPOINT_FILE).write_bytes(b"PK\x03\x04garbage"),
    "truncated file": truncate,
    "rewards of another schema": rewards_of_another_schema,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_is_discarded(tmp_path, damage, caplog):
    interrupted_run(tmp_path)
    DAMAGE[damage](tmp_path / "r.parquet.checkpoint")
    with caplog.at_level(logging.WARNING):
        rewards, backend = rerun(tmp_path)
    assert len(backend.calls) == 6 and (rewards.status == "ok").all()
    assert not (tmp_path / "r.parquet.checkpoint").exists()
    assert "discarding checkpoint" in caplog.text


def sorted_tables(frame):
    return frame.sort_values(["candidate_id", "temperature_K", "phase"]).reset_index(drop=True)


def reference_tables(data=SIX, options=OPTIONS):
    return sorted_tables(score_triples(data, FakeBackend(), options)[1])


def test_a_full_disk_between_rewards_and_tables_never_resumes_ok_rows_without_tables(tmp_path, monkeypatch):
    """The disk fills while the 4th checkpoint is saved, after its rewards and before its phase
    tables: a resume must not take the 4th candidate as done (ok with no phase-table rows)."""
    real_write, phase_table_writes = pq.write_table, []

    def full_disk_on_the_fourth_phase_tables(table, where, *args, **kwargs):
        if "phase" in table.schema.names:
            phase_table_writes.append(len(table))
            if len(phase_table_writes) == 4:
                raise OSError(28, "No space left on device")
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", full_disk_on_the_fourth_phase_tables)
    interrupted_run(tmp_path, expect_rows=None)
    monkeypatch.setattr(pq, "write_table", real_write)
    rewards, _ = rerun(tmp_path)
    assert (rewards.status == "ok").all()
    pd.testing.assert_frame_equal(sorted_tables(read_parquet(tmp_path / "t.parquet")), reference_tables())


def test_a_checkpoint_whose_rewards_outrun_its_tables_is_discarded_with_the_reason(tmp_path, caplog):
    key = job_key(SIX, FakeBackend(), OPTIONS)
    rewards, tables = score_triples(SIX.iloc[:4], FakeBackend(), OPTIONS)
    checkpoint.save_checkpoint(
        tmp_path / "r.parquet.checkpoint", key, rewards.to_dict("records"), [tables[tables.candidate_id != "c3"]]
    )
    with caplog.at_level(logging.WARNING):
        rewards, backend = rerun(tmp_path)
    assert "'c3' is ok with no phase-table rows" in caplog.text
    assert len(backend.calls) == 6
    pd.testing.assert_frame_equal(sorted_tables(read_parquet(tmp_path / "t.parquet")), reference_tables())


def test_parse_status_is_in_the_checkpoint_key(tmp_path):
    """A sampler that re-parses its outputs (a parser fix) marks a row truncated: not a resumed ok row."""
    parsed = SIX.assign(parse_status="ok", parse_reason="")
    reparsed = parsed.assign(parse_status=["ok", "truncated", "ok", "ok", "ok", "ok"], parse_reason="cut")
    assert job_key(parsed, FakeBackend(), OPTIONS) != job_key(reparsed, FakeBackend(), OPTIONS)
    assert job_key(parsed, FakeBackend(), OPTIONS) == job_key(SIX, FakeBackend(), OPTIONS)  # no status: parsed
    interrupted_run(tmp_path, data=parsed)
    rewards, _ = rerun(tmp_path, data=reparsed)
    row = rewards.set_index("candidate_id").loc["c1"]
    assert (row.status, row.reason) == ("invalid", "truncated: cut")


def test_checkpoint_write_failure_does_not_stop_scoring(tmp_path, monkeypatch, caplog):
    def failing(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "atomic_write_bytes", failing)
    with caplog.at_level(logging.WARNING):
        rewards, _ = rerun(tmp_path)
    assert (rewards.status == "ok").all() and "could not write checkpoint" in caplog.text
    assert len(read_parquet(tmp_path / "r.parquet")) == 6
