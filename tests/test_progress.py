"""Progress lines of long jobs: `k/N done` with rate and ETA at a steady interval, and heartbeats."""

import logging

from alloypref.progress import Heartbeat, ProgressLog, format_duration


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_logs_first_every_interval_and_last(caplog):
    clock = Clock()
    progress = ProgressLog(
        100, "scoring", logging.getLogger("test.progress"), interval_s=10, unit="candidates", clock=clock
    )
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for _ in range(100):
            clock.now += 1.0  # one candidate a second
            progress(1)
    lines = [r.getMessage() for r in caplog.records]
    # the first item, then one line per 10 s, then the last
    assert lines[0] == "scoring: 1/100 candidates done (1 %), elapsed 1s, 1 candidates/s, ETA 1m39s"
    assert lines[1].startswith("scoring: 11/100 candidates done (11 %), elapsed 11s")
    assert lines[-1] == "scoring: 100/100 candidates done (100 %), elapsed 1m40s, 1 candidates/s"
    assert len(lines) == 11


def test_durations():
    assert format_duration(59.4) == "59s" and format_duration(75) == "1m15s" and format_duration(3725) == "1h02m"


def test_heartbeat_fills_silences_only(caplog):
    clock = Clock()
    logger = logging.getLogger("test.heartbeat")
    heartbeat = Heartbeat(logger, interval_s=30, clock=clock)
    heartbeat.stop()  # drive it by hand
    logging.getLogger().addHandler(heartbeat.handler)
    try:
        with caplog.at_level(logging.INFO):
            clock.now = 29
            assert not heartbeat.beat()
            clock.now = 31
            assert heartbeat.beat()
            clock.now = 50
            logger.info("a progress line")  # any record resets the silence
            clock.now = 70
            assert not heartbeat.beat()
            clock.now = 81
            assert heartbeat.beat()
    finally:
        logging.getLogger().removeHandler(heartbeat.handler)
    beats = [r.getMessage() for r in caplog.records if r.getMessage().startswith("still running")]
    assert beats == ["still running, elapsed 31s", "still running, elapsed 1m21s"]
