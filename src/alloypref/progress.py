"""Progress of long jobs as log lines (``k/N done, rate, ETA``), readable in a log file and a terminal.

Progress bars drawn with carriage returns do not survive a workflow engine's console or a log file,
so long loops (CALPHAD scoring and curation, sampling, training steps) report through :mod:`logging`
instead: one line at most every ``interval_s`` seconds, plus the first and the last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

DEFAULT_INTERVAL_S = 10.0
#: The logger of progress lines: the command line shows it on stderr even without --verbose.
log = logging.getLogger("alloypref.progress")


def format_duration(seconds: float) -> str:
    """``75`` -> ``1m15s``; ``3725`` -> ``1h02m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


class ProgressLog:
    """Count finished items and log ``label: k/N done (p %), rate, ETA`` at a steady interval.

    Call the instance with the number of items just finished (the ``progress`` callback the scorer,
    the filter and the sampler accept). ``clock`` is injectable for tests (seconds, monotonic).
    """

    def __init__(
        self,
        total: int,
        label: str,
        logger: logging.Logger | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        unit: str = "items",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = int(total)
        self.label = label
        self.logger = logger or log
        self.interval_s = float(interval_s)
        self.unit = unit
        self.clock = clock
        self.done = 0
        self.start = clock()
        self.last_logged: float | None = None

    def __call__(self, n: int = 1) -> None:
        self.done += int(n)
        now = self.clock()
        finished = self.done >= self.total
        if self.last_logged is None or finished or now - self.last_logged >= self.interval_s:
            self.logger.info("%s", self.line(now))
            self.last_logged = now

    def line(self, now: float | None = None) -> str:
        """The progress line at ``now`` (default: the clock's time)."""
        now = self.clock() if now is None else now
        elapsed = now - self.start
        percent = 100.0 * self.done / self.total if self.total else 100.0
        text = f"{self.label}: {self.done}/{self.total} {self.unit} done ({percent:.0f} %), elapsed {format_duration(elapsed)}"
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            text += f", {rate:.3g} {self.unit}/s"
            if self.done < self.total:
                text += f", ETA {format_duration((self.total - self.done) / rate)}"
        return text


class Heartbeat:
    """Log ``still running, <elapsed>`` whenever nothing was logged for ``interval_s`` seconds, so a
    job's log and the console never fall silent for long (model loading, a slow CALPHAD system).

    It watches every record that reaches the root logger and runs in a daemon thread.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        import threading

        self.logger = logger
        self.interval_s = float(interval_s)
        self.clock = clock
        self.start = self.last = clock()
        self._stop = threading.Event()
        heartbeat = self

        class Touch(logging.Handler):
            def emit(self, record):
                heartbeat.last = heartbeat.clock()

        self.handler = Touch()
        logging.getLogger().addHandler(self.handler)
        self.thread = threading.Thread(target=self._run, name="alloypref-heartbeat", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.interval_s / 4)):
            self.beat()

    def beat(self) -> bool:
        """Log a heartbeat if the log has been silent for ``interval_s``; True when it logged."""
        now = self.clock()
        if now - self.last < self.interval_s:
            return False
        self.logger.info("still running, elapsed %s", format_duration(now - self.start))
        self.last = now
        return True

    def stop(self) -> None:
        self._stop.set()
        logging.getLogger().removeHandler(self.handler)
