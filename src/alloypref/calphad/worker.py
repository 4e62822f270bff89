"""A killable solver process: phase tables computed in a child process that a timeout can kill.

A signal alarm raised inside the solver is an ordinary exception, and any broad ``except`` on the way
(pycalphad has some, cache loading has some) swallows it: the candidate then runs to the end. A
process is stopped whatever it is doing. A worker keeps its compiled systems warm between
candidates; it is killed and replaced only when a candidate overruns its time (or the process
dies), and the replacement reloads systems from the disk cache. :func:`solve_groups` runs several
workers at once (one per core of a job), each taking whole element sets, so a system is built or
loaded by one worker only.

The worker is forked, so it inherits the backend with every database the parent has already loaded;
a round trip costs a pickle of the phase table through a pipe (milliseconds). A worker dies with its
parent, however the parent ends (SIGTERM, SIGKILL from an out-of-memory killer): on Linux the kernel
kills it (``PR_SET_PDEATHSIG``), elsewhere it notices within :data:`PARENT_CHECK_S` that it was
orphaned and exits.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from multiprocessing.connection import wait

import pandas as pd

from alloypref.calphad.backend import CalphadBackend, CalphadError
from alloypref.calphad.cache import CacheTrustError
from alloypref.calphad.databases import DatabaseError

log = logging.getLogger(__name__)

#: Exceptions that are not about one candidate (a misconfigured database, an untrusted cache): the
#: worker sends them back and the parent raises them, so they stop the job with their message.
FATAL = (CacheTrustError, DatabaseError)


class CandidateTimeout(CalphadError):
    """A candidate that ran past the per-candidate limit; its worker was killed."""


class WorkerDied(CalphadError):
    """The worker process ended without an answer (killed from outside, out of memory, a crash)."""


#: How often (s) a worker checks that its parent is alive where the kernel cannot be asked to kill it.
PARENT_CHECK_S = 0.5

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent_pid: int, from_main_thread: bool) -> None:
    """End this worker when the process ``parent_pid`` that forked it ends, however it ends.

    A solve can run for minutes inside compiled code without reading its pipe, so an orphan would
    go on solving (and holding memory) after its job was killed. On Linux the kernel sends SIGKILL
    when the parent dies, asked only when the worker was forked ``from_main_thread`` (the kernel
    watches the forking thread, and a helper thread's end is not the parent's: GRPO's scoring
    threads); a daemon thread polling the parent id covers every other case.
    """
    if from_main_thread and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the thread below still watches
            pass
    if os.getppid() != parent_pid:  # the parent died before the kernel was told
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="alloypref-parent-watch", daemon=True).start()


def _serve(backend: CalphadBackend, connection, parent_pid: int, from_main_thread: bool) -> None:
    """The worker's loop: (composition, temperatures, database) in, ("ok" | "calphad" | ...) out."""
    _die_with_parent(parent_pid, from_main_thread)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the worker stops
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if request is None:
            return
        composition, temperatures, database = request
        try:
            answer = ("ok", backend.phase_table(composition, temperatures, database))
        except CalphadError as exc:
            answer = ("calphad", exc.reason, exc.partial_table)
        except FATAL as exc:
            answer = ("fatal", exc)
        except Exception as exc:  # a solver crash is a recorded failure of this candidate
            answer = ("error", f"{type(exc).__name__}: {exc}", None)
        try:
            connection.send(answer)
        except Exception as exc:  # an answer that cannot be pickled is still an answer
            connection.send(("error", f"unsendable result: {type(exc).__name__}: {exc}", None))


class SolverWorker:
    """``phase_table`` of ``backend`` run in a child process, with a time limit per call.

    Use as a context manager (the process is stopped on exit). ``timeout_s`` <= 0 means no limit.
    """

    def __init__(self, backend: CalphadBackend, timeout_s: float):
        self.backend = backend
        self.timeout_s = float(timeout_s)
        self.restarts = 0
        self._context = multiprocessing.get_context("fork")
        self._process = None
        self._connection = None

    def __enter__(self) -> SolverWorker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start(self) -> None:
        ours, theirs = self._context.Pipe()
        from_main_thread = threading.current_thread() is threading.main_thread()
        process = self._context.Process(
            target=_serve,
            args=(self.backend, theirs, os.getpid(), from_main_thread),
            daemon=True,
            name="alloypref-solver",
        )
        process.start()
        theirs.close()
        self._process, self._connection = process, ours

    def _kill(self) -> int | None:
        """Stop the worker now; its exit code (negative: the signal)."""
        process, self._process = self._process, None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if process is None:
            return None
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join()
        return process.exitcode

    def close(self) -> None:
        """Ask the worker to finish, then make sure it has."""
        if self._process is not None and self._process.is_alive() and self._connection is not None:
            try:
                self._connection.send(None)
                self._process.join(timeout=5)
            except OSError:
                pass
        self._kill()

    def submit(self, composition: Mapping[str, float], temperatures_K: Sequence[float], database: str) -> None:
        """Send one request to the worker (started, or restarted after a kill, as needed).

        Raises:
            WorkerDied: the request could not be sent.
        """
        if self._process is None or not self._process.is_alive():
            if self._process is not None:
                self._kill()
                self.restarts += 1
            self._start()
        try:
            self._connection.send((dict(composition), tuple(temperatures_K), database))
        except OSError as exc:
            code = self._kill()
            raise WorkerDied(f"solver process stopped (exit code {code}): {exc}") from None

    @property
    def connection(self):
        """The pipe end an answer arrives on (for :func:`multiprocessing.connection.wait`)."""
        return self._connection

    def timed_out(self) -> CandidateTimeout:
        """Kill the worker whose request ran past its time; the error to record for that request."""
        self._kill()
        return CandidateTimeout(f"timed out after {self.timeout_s:g} s (solver process killed)")

    def receive(self) -> pd.DataFrame:
        """The answer to the request sent last (waits for it).

        Raises:
            WorkerDied: the worker ended without answering.
            CalphadError: the backend's own failure (or any exception of the solver, named).
        """
        try:
            answer = self._connection.recv()
        except (EOFError, OSError):
            code = self._kill()
            raise WorkerDied(f"solver process died without an answer (exit code {code})") from None
        kind = answer[0]
        if kind == "ok":
            return answer[1]
        if kind == "fatal":
            raise answer[1]
        raise CalphadError(answer[1], answer[2])

    def phase_table(
        self, composition: Mapping[str, float], temperatures_K: Sequence[float], database: str
    ) -> pd.DataFrame:
        """The backend's phase table, computed in the worker.

        Raises:
            CandidateTimeout: no answer within ``timeout_s``; the worker was killed (and is restarted
                on the next call).
            WorkerDied: the worker ended without answering.
            CalphadError: the backend's own failure (or any exception of the solver, named).
        """
        self.submit(composition, temperatures_K, database)
        try:
            ready = self._connection.poll(self.timeout_s if self.timeout_s > 0 else None)
        except OSError as exc:
            code = self._kill()
            raise WorkerDied(f"solver process stopped (exit code {code}): {exc}") from None
        if not ready:
            raise self.timed_out()
        return self.receive()


#: One solve: (composition as fractions, temperatures in K, database name).
Request = tuple[Mapping[str, float], Sequence[float], str]


def solve_groups(
    backend: CalphadBackend, groups: Sequence[Sequence[Request]], workers: int, timeout_s: float
) -> Iterator[tuple[int, int, pd.DataFrame | CalphadError, float]]:
    """Solve groups of requests on ``workers`` killable processes; yield answers as they arrive.

    A group (the candidates of one element set on one database) is solved whole by one worker, in
    order, so its system is built or loaded once; an idle worker takes the next group in the order
    given (put the costliest first). Yields ``(group index, request index, answer, seconds)``: the
    answer is a phase table, or the :class:`CalphadError` that request ended with (a timeout kills
    and replaces only that worker); ``seconds`` is its wall time. Errors in :data:`FATAL` are raised.
    The workers are forked from the calling thread only (never from a helper thread).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    queue = [g for g in range(len(groups)) if groups[g]]
    queue.reverse()  # pop() from the end takes the first group
    pool = [SolverWorker(backend, timeout_s) for _ in range(min(workers, len(queue)))]
    busy: dict[int, tuple[int, int, float]] = {}  # worker -> (group, request, started at)
    done: list[tuple[int, int, int, pd.DataFrame | CalphadError, float]] = []  # (worker, group, request, ...)

    def feed(index: int, group: int, request: int) -> None:
        composition, temperatures, database = groups[group][request]
        started = time.monotonic()
        try:
            pool[index].submit(composition, temperatures, database)
        except CalphadError as exc:  # could not even send it: that request's answer
            done.append((index, group, request, exc, time.monotonic() - started))
        else:
            busy[index] = (group, request, started)

    try:
        for index in range(len(pool)):
            feed(index, queue.pop(), 0)
        while busy or done:
            if not done:
                deadlines = [started + timeout_s for _, _, started in busy.values()]
                wait_s = max(0.0, min(deadlines) - time.monotonic()) if timeout_s > 0 else None
                ready = wait([pool[i].connection for i in busy], wait_s)
                for index, (group, request, started) in list(busy.items()):
                    if pool[index].connection in ready:
                        try:
                            answer = pool[index].receive()
                        except FATAL:
                            raise
                        except CalphadError as exc:
                            answer = exc
                    elif timeout_s > 0 and time.monotonic() - started >= timeout_s:
                        answer = pool[index].timed_out()
                    else:
                        continue
                    del busy[index]
                    done.append((index, group, request, answer, time.monotonic() - started))
            index, group, request, answer, seconds = done.pop(0)
            yield group, request, answer, seconds
            if request + 1 < len(groups[group]):
                feed(index, group, request + 1)
            elif queue:
                feed(index, queue.pop(), 0)
    finally:
        for worker in pool:
            worker.close()
