"""Chat completions from any OpenAI-compatible endpoint, with a resumable on-disk request log.

The ``openai`` client does the HTTP work: its own retries with exponential backoff on 429, 5xx,
timeouts and dropped connections (honouring ``Retry-After``), and a per-request timeout. On top of
it, :class:`ChatClient` adds what a paid, interruptible run needs:

* a request log (JSON Lines, one answered request per line) keyed by a hash of everything that
  decides the answer: base URL, model, messages, temperature, max_tokens, seed and the caller's
  sample key (which tells apart repeated draws of one prompt).
  A request whose key is in the log is answered from it, so an interrupted run continues where it
  stopped and a finished run is never billed again. The API key is never part of a key or a line;
* retries of a 200 whose body is not valid JSON (``openai`` does not retry those);
* a concurrency cap (a thread pool) and a request-rate limit (requests per minute, spaced evenly,
  applied to every HTTP request sent, retries included);
* a per-request ``seed`` drawn from the run's seed and the sample key (unless ``send_seed`` is off),
  which servers that honour it (vLLM, OpenAI's best effort) use to make an answer reproducible.

Log line: ``{"key": str, "request": {base_url, model, messages, temperature, max_tokens, seed, sample},
"response": {"text": str, "finish_reason": str, "usage": dict | null}, "seconds": float}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alloypref.baselines.api_config import ApiSettings

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class RequestLogError(ValueError):
    """A request log line that cannot be read (not the last line, which a kill may cut short)."""


def request_key(request: dict) -> str:
    """SHA-256 of the request fields (sorted JSON); the key a log line is found by."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class RequestLog:
    """Append-only JSONL of answered requests (see module doc), safe to share between threads.

    A run killed while writing leaves at most a cut-short last line; it is ignored (the request is
    sent again). A bad line anywhere else means the file was edited or mixed up: error naming the line.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries: dict[str, dict] = {}
        if self.path.is_file():
            lines = self.path.read_text().splitlines()
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    self._entries[entry["key"]] = entry
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    if number == len(lines):
                        log.warning(
                            "%s, line %d: cut-short last line ignored (its request is sent again)", self.path, number
                        )
                        self._truncate_to(lines[: number - 1])
                        break
                    raise RequestLogError(f"{self.path}, line {number}: not a request log entry ({exc})") from exc
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _truncate_to(self, lines: list[str]) -> None:
        self.path.write_text("".join(line + "\n" for line in lines))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> dict | None:
        return self._entries.get(key)

    def add(self, key: str, request: dict, response: dict, seconds: float) -> None:
        entry = {"key": key, "request": request, "response": response, "seconds": round(seconds, 3)}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            with self.path.open("a") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._entries[key] = entry


class RateLimiter:
    """Spaces request starts at least ``60 / per_minute`` seconds apart (no limit when None)."""

    def __init__(self, per_minute: float | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class ChatClient:
    """One endpoint and model of an ``api`` baseline; counts requests sent and answered from the log."""

    def __init__(self, settings: ApiSettings, log_path: str | Path, seed: int = 0):
        from openai import DefaultHttpxClient, OpenAI

        self.settings = settings
        self.seed = seed
        self.log = RequestLog(log_path)
        self.limiter = RateLimiter(settings.requests_per_minute)
        # The limit applies where a request leaves (an HTTP event hook), so the client's own retries
        # count against it and a slow first connection cannot release a burst behind it.
        http_client = DefaultHttpxClient(event_hooks={"request": [lambda request: self.limiter.wait()]})
        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key(),
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            http_client=http_client,
        )
        self._count_lock = threading.Lock()
        self.sent = 0  # requests answered by the endpoint in this run
        self.from_log = 0  # requests answered from the log

    def request(
        self, messages: Messages, sample: str, model: str | None = None, temperature: float | None = None
    ) -> dict:
        """The loggable request (no API key): what decides the answer, plus the caller's sample key."""
        s = self.settings
        return {
            "base_url": s.base_url,
            "model": model or s.model,
            "messages": messages,
            "temperature": s.temperature if temperature is None else temperature,
            "max_tokens": s.max_tokens,
            "seed": int(request_key({"seed": self.seed, "sample": sample})[:8], 16) if s.send_seed else None,
            "sample": sample,
        }

    def complete(
        self, messages: Messages, sample: str, model: str | None = None, temperature: float | None = None
    ) -> str:
        """The answer text to ``messages``; ``sample`` tells apart repeated draws of the same prompt."""
        request = self.request(messages, sample, model, temperature)
        key = request_key(request)
        entry = self.log.get(key)
        if entry is not None:
            with self._count_lock:
                self.from_log += 1
            return entry["response"]["text"]
        from openai import APIResponseValidationError

        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            started = time.monotonic()
            try:
                response = self._client.chat.completions.create(
                    model=request["model"],
                    messages=messages,
                    temperature=request["temperature"],
                    **{k: request[k] for k in ("max_tokens", "seed") if request[k] is not None},
                )
                choice = response.choices[0]
            except (ValueError, APIResponseValidationError, IndexError, AttributeError) as exc:
                # a 200 whose body is not a chat completion; openai does not retry these
                if attempt + 1 == attempts:
                    raise RuntimeError(
                        f"{self.settings.name}: {self.settings.base_url} answered {attempts} times with a malformed body ({exc})"
                    ) from exc
                delay = min(8.0, 0.5 * 2**attempt)
                log.warning("%s: malformed response (%s); retrying in %.1f s", self.settings.name, exc, delay)
                time.sleep(delay)
                continue
            usage = response.usage.model_dump() if getattr(response, "usage", None) is not None else None
            answer = {"text": choice.message.content or "", "finish_reason": choice.finish_reason, "usage": usage}
            self.log.add(key, request, answer, time.monotonic() - started)
            with self._count_lock:
                self.sent += 1
            return answer["text"]
        raise AssertionError("unreachable")

    def map(self, jobs: Sequence[tuple[Messages, str]], progress: Callable[[int], None] | None = None) -> list[str]:
        """Answers to ``(messages, sample)`` jobs in order, ``settings.concurrency`` at a time."""

        def one(job):
            text = self.complete(*job)
            if progress:
                progress(1)
            return text

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            return list(pool.map(one, jobs))
