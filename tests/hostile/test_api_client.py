"""Hostile API endpoints: a server that trickles its answer, answers as another model, echoes the
API key or refuses it, is not there at all; and request logs with malformed lines. Each is a named
error naming the source and the URL (or the log's line), and the key is never written anywhere."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import traceback

import pytest

from alloypref.baselines.api_client import (
    ApiError,
    ChatClient,
    RequestLog,
    RequestLogError,
    redact_key_in_logs,
    same_model,
)
from alloypref.baselines.api_config import ApiSettings
from alloypref.baselines.api_run import run_api_baseline

from ..helpers import exemplar_rows
from ..openai_server import ChatServer

ELEMENTS = ["Al", "Mo", "Nb", "Ni"]
SECRET = "sk-hostile-secret-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Suggest a triple."}]


@pytest.fixture()
def server():
    with ChatServer(ELEMENTS) as running:
        yield running


def client_for(server_or_url, tmp_path, monkeypatch, **extra) -> ChatClient:
    monkeypatch.setenv("ALLOYPREF_HOSTILE_KEY", SECRET)
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    entry = {
        "base_url": url,
        "model": "test-model",
        "method": "one_shot",
        "n": 2,
        "api_key_env": "ALLOYPREF_HOSTILE_KEY",
        "max_retries": 0,
        **extra,
    }
    return ChatClient(ApiSettings.from_config("hostile", entry), tmp_path / "log.jsonl")


def finishes_within(seconds: float, call):
    """(result or exception, elapsed s) of ``call``; fails (instead of hanging) when it runs longer."""
    outcome: dict = {}

    def run():
        started = time.monotonic()
        try:
            outcome["value"] = call()
        except Exception as exc:  # the outcome under test
            outcome["value"] = exc
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return outcome["value"], outcome["elapsed"]


# ----------------------------------------------------------------------------- deadlines


def test_trickling_server_cannot_hold_a_request_past_its_deadline(server, tmp_path, monkeypatch):
    """One byte every 0.5 s never trips a 2 s per-read timeout; the whole answer would take minutes."""
    server.faults.append("trickle")
    client = client_for(server, tmp_path, monkeypatch, timeout_s=2)
    error, elapsed = finishes_within(20, lambda: client.complete(MESSAGES, "a"))
    assert isinstance(error, ApiError), error
    assert elapsed < 4.5
    assert str(error).startswith(f"hostile: no answer from {server.base_url} in 1 attempt")
    assert "no complete answer within 2 s" in str(error)
    assert len(RequestLog(tmp_path / "log.jsonl")) == 0


def test_a_late_answer_is_retried_like_a_timeout(server, tmp_path, monkeypatch):
    server.faults.append("trickle")
    client = client_for(server, tmp_path, monkeypatch, timeout_s=2, max_retries=1)
    text, elapsed = finishes_within(20, lambda: client.complete(MESSAGES, "a"))
    assert isinstance(text, str) and text.startswith("<BCC>"), text
    assert len(server.received) == 2 and elapsed < 6


def test_unreachable_endpoint_names_the_url(tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    client = client_for(url, tmp_path, monkeypatch, timeout_s=2)
    with pytest.raises(ApiError, match=f"^hostile: no answer from {url} in 1 attempt"):
        client.complete(MESSAGES, "a")


# ----------------------------------------------------------------------------- another model


@pytest.mark.parametrize(
    "requested, answered, same",
    [
        ("test-model", "test-model", True),
        ("test-model", None, True),
        ("gpt-4o", "gpt-4o-2024-08-06", True),
        ("gpt-4", "gpt-4-0613", True),
        ("llama3", "llama3:latest", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4o", "gpt-3.5-turbo", False),
        ("llama3", "llama3:70b", False),
    ],
)
def test_same_model(requested, answered, same):
    assert same_model(requested, answered) is same


def test_answer_from_another_model_is_an_error_and_is_not_billed_again(server, tmp_path, monkeypatch):
    server.answer_model = "cheaper-model"
    client = client_for(server, tmp_path, monkeypatch)
    with pytest.raises(ApiError, match="request for model 'test-model' with model 'cheaper-model'"):
        client.complete(MESSAGES, "a")
    (entry,) = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert entry["response"]["model"] == "cheaper-model"  # paid for, kept with who answered
    with pytest.raises(ApiError, match="with model 'cheaper-model'"):
        client.complete(MESSAGES, "a")  # answered from the log: still refused, not sent again
    assert len(server.received) == 1


# ----------------------------------------------------------------------------- the key


def test_echoed_key_is_redacted_from_answers_log_samples_and_log_records(server, tmp_path, monkeypatch, caplog):
    server.faults.extend(["echo-key", "echo-key", "malformed"])
    monkeypatch.setenv("ALLOYPREF_HOSTILE_KEY", SECRET)
    entry = {
        "base_url": server.base_url,
        "model": "test-model",
        "method": "one_shot",
        "n": 3,
        "api_key_env": "ALLOYPREF_HOSTILE_KEY",
        "max_retries": 1,
        "concurrency": 1,
    }
    rewards = _exemplar_rewards()
    with caplog.at_level(logging.DEBUG):
        samples, report = run_api_baseline(
            ApiSettings.from_config("hostile", entry), rewards, ELEMENTS, tmp_path / "log.jsonl", seed=0
        )
    written = [(tmp_path / "log.jsonl").read_text(), samples.to_csv(), json.dumps(report), caplog.text]
    assert not any(SECRET in text for text in written)
    assert sum("[api key redacted]" in text for text in samples["text"].astype(str)) == 2


def test_authentication_error_never_prints_the_key(server, tmp_path, monkeypatch):
    server.faults.append("401-echo")
    client = client_for(server, tmp_path, monkeypatch)
    with pytest.raises(ApiError) as caught:
        client.complete(MESSAGES, "a")
    assert str(caught.value) == f"hostile: {server.base_url} refused the key in $ALLOYPREF_HOSTILE_KEY (HTTP 401)"
    printed = "".join(traceback.format_exception(caught.value))
    assert SECRET not in printed


def test_job_log_handlers_write_the_key_redacted(monkeypatch):
    """A job's log handlers redact the key whatever logs it: a message, or an exception's traceback."""
    monkeypatch.setenv("ALLOYPREF_HOSTILE_KEY", SECRET)
    settings = ApiSettings.from_config(
        "hostile",
        {"base_url": "http://x/v1", "model": "m", "method": "one_shot", "n": 1, "api_key_env": "ALLOYPREF_HOSTILE_KEY"},
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact_key_in_logs(settings, [handler])
    logger = logging.getLogger("tests.hostile.job")
    logger.addHandler(handler)
    try:
        logger.warning("server said: bad key %s", SECRET)
        try:
            raise RuntimeError(f"Incorrect API key provided: {SECRET}")
        except RuntimeError:
            logger.exception("uncaught exception, the job failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert SECRET not in written
    assert written.count("[api key redacted]") == 2 and "Traceback" in written


# ----------------------------------------------------------------------------- the request log


GOOD = json.dumps({"key": "k1", "request": {}, "response": {"text": "x"}, "seconds": 0.1})

BAD_LOGS = [
    (json.dumps({"key": "k0", "request": {}}) + "\n" + GOOD + "\n", "line 1", "'response' is missing"),
    (GOOD + "\n" + json.dumps({"key": "k2", "request": {}, "response": {"text": 3}}) + "\n", "line 2", "'text'"),
    ("[1, 2]\n" + GOOD + "\n", "line 1", "a JSON list, not an object"),
    (GOOD + "\n" + json.dumps({"key": ["k"], "request": {}, "response": {"text": ""}}) + "\n", "line 2", "'key'"),
    (GOOD + "\n" + '{"key": "k3", "requ\n', "line 2", "not a request log entry"),  # complete line: not cut short
]


@pytest.mark.parametrize("text, line, message", BAD_LOGS, ids=[m for _, _, m in BAD_LOGS])
def test_malformed_request_log_line_is_a_named_error(tmp_path, text, line, message):
    path = tmp_path / "log.jsonl"
    path.write_text(text)
    with pytest.raises(RequestLogError, match=f"^{path}, {line}: not a request log entry") as caught:
        RequestLog(path)
    assert message in str(caught.value)
    assert path.read_text() == text  # an edited log is never cut


def test_non_utf8_request_log_is_a_named_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(GOOD.encode() + b"\n\xff\xfe\n")
    with pytest.raises(RequestLogError, match=f"^{path}: not UTF-8"):
        RequestLog(path)


def _exemplar_rewards():
    import pandas as pd

    return pd.DataFrame(exemplar_rows(12))
