"""A solver worker dies with its parent: killing the scoring process (SIGTERM, or SIGKILL as an
out-of-memory killer sends) never leaves a worker solving on."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import REPO

SCORE_SCRIPT = """
import dataclasses, os, sys, threading
from pathlib import Path
from tests.helpers import FakeBackend, OPTIONS, triples
from alloypref.scoring import score_triples

class Spinning(FakeBackend):
    def phase_table(self, composition, temperatures_K, database):
        Path(sys.argv[1]).write_text(str(os.getpid()), encoding="utf-8")  # the worker says who it is
        while True:  # a solve that never reads its pipe again
            try:
                sum(range(10**6))
            except BaseException:
                pass

def score():
    options = dataclasses.replace(OPTIONS, isolate=True, timeout_s=600)
    score_triples(triples([("a", "Nb", "NiAl", 30.0)]), Spinning(), options)

if sys.argv[2] == "thread":  # forked from a helper thread, as GRPO's scoring threads do
    thread = threading.Thread(target=score)
    thread.start()
    thread.join()
else:
    score()
"""

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


def alive(pid: int) -> bool:
    """Running (a zombie, killed and not yet reaped by its new parent, is not)."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():  # Linux: the state letter follows the command name
        try:
            return stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    "how, forked_from",
    [(signal.SIGTERM, "main"), (signal.SIGKILL, "main"), (signal.SIGKILL, "thread"), (signal.SIGTERM, "thread")],
    ids=["SIGTERM", "SIGKILL", "SIGKILL-forked-from-a-thread", "SIGTERM-forked-from-a-thread"],
)
def test_killing_the_scorer_kills_its_solver_worker(tmp_path, how, forked_from):
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", SCORE_SCRIPT, str(pid_file), forked_from],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = None
    try:
        deadline = time.time() + 60
        while worker is None and time.time() < deadline and parent.poll() is None:
            text = pid_file.read_text(encoding="utf-8") if pid_file.is_file() else ""
            worker = int(text) if text else None
            time.sleep(0.05)
        assert worker is not None, "the worker never started solving"
        assert alive(worker)
        parent.send_signal(how)  # the parent alone, as an OOM killer picks one process
        parent.wait(timeout=30)
        deadline = time.time() + 10
        while alive(worker) and time.time() < deadline:
            time.sleep(0.05)
        assert not alive(worker), f"solver worker {worker} outlived its parent killed by {how.name}"
    finally:
        if parent.poll() is None:
            parent.kill()
        if worker is not None and alive(worker):
            os.kill(worker, signal.SIGKILL)
