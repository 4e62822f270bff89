"""kill -9 at random points of scoring and training (several seeds): no half-written file under a
final name, no finished result lost, and a rerun gives what an uninterrupted run gives."""

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from alloypref.io import read_parquet
from alloypref.scoring import score_file, score_triples
from alloypref.scoring.checkpoint import CheckpointError, read_checkpoint

from ..helpers import OPTIONS, REPO, FakeBackend, triples

SCORE_SCRIPT = """
import sys, time
from tests.helpers import FakeBackend, OPTIONS
from alloypref.scoring import score_file, score_triples
import dataclasses

fast = FakeBackend.phase_table

def slow(self, composition, temperatures_K, database):  # same class: the checkpoint key names it
    time.sleep(0.1)
    return fast(self, composition, temperatures_K, database)

FakeBackend.phase_table = slow
score_file(sys.argv[1], sys.argv[2], sys.argv[3], FakeBackend(), dataclasses.replace(OPTIONS, isolate=True, timeout_s=30),
           show_progress=False)
"""

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


def start(script, *args, cwd):
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def candidates(n, shift=0.0):
    return triples([(f"k{i:02d}", ["Nb", "Mo", "Ti"][i % 3], "NiAl", 20.0 + i + shift) for i in range(n)])


def sorted_tables(frame):
    return frame.sort_values(["candidate_id", "temperature_K", "phase"]).reset_index(drop=True)


def comparable(frame):
    return frame.drop(columns="seconds").reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scoring_killed_at_a_random_point_resumes_without_loss(tmp_path, seed):
    rng = random.Random(seed)
    data = candidates(20)
    data.to_parquet(tmp_path / "triples.parquet")
    out, tables = tmp_path / "rewards.parquet", tmp_path / "tables.parquet"
    checkpoint = tmp_path / "rewards.parquet.checkpoint"
    process = start(SCORE_SCRIPT, tmp_path / "triples.parquet", out, tables, cwd=REPO)
    wanted = rng.randint(1, 15)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        try:  # none committed yet
            if len(read_checkpoint(checkpoint)[1]) >= wanted:
                break
        except CheckpointError:
            pass
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.1))  # anywhere inside the next candidate (or its checkpoint write)
    assert process.poll() is None, "scoring finished before it could be killed"
    kill(process)
    assert not out.exists() and not tables.exists()
    for parquet in tmp_path.rglob("*.parquet"):
        read_parquet(parquet)  # every file under its final name is complete
    _, finished, finished_tables = read_checkpoint(checkpoint)
    finished = finished.set_index("candidate_id")

    if seed == 3:  # the inputs change before the rerun: nothing of the old run may survive
        data = candidates(20, shift=0.5)
        data.to_parquet(tmp_path / "triples.parquet")
    backend = FakeBackend()
    same = dataclasses.replace(OPTIONS, timeout_s=30)  # what the killed run used (in-process: counts calls)
    rewards = score_file(tmp_path / "triples.parquet", out, tables, backend, same, show_progress=False)
    reference, reference_tables = score_triples(data, FakeBackend(), same)
    pd.testing.assert_frame_equal(comparable(rewards), comparable(reference))
    pd.testing.assert_frame_equal(sorted_tables(read_parquet(tables)), sorted_tables(reference_tables))
    if seed == 3:
        assert len(backend.calls) == 20
    else:
        assert len(backend.calls) == 20 - len(finished)  # finished candidates were reused, not recomputed
        kept = rewards.set_index("candidate_id").loc[finished.index]
        pd.testing.assert_frame_equal(kept, finished[kept.columns])  # ... unchanged, seconds included
        written = read_parquet(tables)
        kept_tables = written[written.candidate_id.isin(finished.index)]
        pd.testing.assert_frame_equal(sorted_tables(kept_tables), sorted_tables(finished_tables))  # tables too


TRAIN_SCRIPT = """
import dataclasses, sys
from tests.helpers import TINY, sft_frame
from alloypref.lm.sft import train_sft
spec = dataclasses.replace(TINY, sft=dataclasses.replace(TINY.sft, epochs=2))
train_sft(spec, sft_frame(), sys.argv[1], sys.argv[2], seed=0, eval_fraction=0.0)
"""


def model_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.slow
def test_training_killed_at_random_points_never_leaves_a_partial_model(tmp_path):
    model, work = tmp_path / "model", tmp_path / "work"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", TRAIN_SCRIPT, str(model), str(work)], cwd=REPO, env=ENV, check=True, capture_output=True
    )
    duration = time.perf_counter() - started
    complete = model_files(model)
    assert "config.json" in complete and "model.safetensors" in complete and "tokenizer.json" in complete
    weights = (model / "model.safetensors").read_bytes()
    for seed in (0, 1):
        delay = random.Random(seed).uniform(0.5, 1.0) * duration
        process = start(TRAIN_SCRIPT, model, work, cwd=REPO)
        time.sleep(delay)
        if process.poll() is None:
            kill(process)
        # the finished model of the first run is still whole (or replaced by another whole one)
        assert model_files(model) == complete
        assert len((model / "model.safetensors").read_bytes()) == len(weights)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("model") and p != model]
