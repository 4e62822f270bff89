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

* an overall deadline on every HTTP exchange (``timeout_s``: connect, send, headers and body
  together), where the ``openai`` client's timeout bounds each read only, so a server trickling a
  byte at a time could hold a request forever; a late exchange is a timeout, retried like one;
* the answering model checked against the requested one (:func:`same_model`): an answer from
  another model is logged (it is paid for) with the model that gave it, and is an error;
* the API key redacted from everything written (answers, the log, error messages), and error
  messages that name the endpoint's URL and never the server's echo of the key.

Log line: ``{"key": str, "request": {base_url, model, messages, temperature, max_tokens, seed, sample},
"response": {"text": str, "finish_reason": str, "usage": dict | null, "model": str}, "seconds": float}``
(``model``: the model that answered, as the server names it; older lines lack it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
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
            try:
                text = self.path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise RequestLogError(f"{self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            lines = text.splitlines()
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entry = _checked_entry(json.loads(line))
                except (json.JSONDecodeError, ValueError) as exc:
                    if number == len(lines) and not text.endswith("\n"):
                        log.warning(
                            "%s, line %d: cut-short last line ignored (its request is sent again)", self.path, number
                        )
                        self._truncate_to(lines[: number - 1])
                        break
                    raise RequestLogError(f"{self.path}, line {number}: not a request log entry ({exc})") from None
                self._entries[entry["key"]] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _truncate_to(self, lines: list[str]) -> None:
        self.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

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
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self._entries[key] = entry


def _checked_entry(entry) -> dict:
    """A parsed log line, or ``ValueError`` saying which part is missing or of the wrong kind."""
    if not isinstance(entry, dict):
        raise ValueError(f"a JSON {type(entry).__name__}, not an object")
    for field, kind in (("key", str), ("request", dict), ("response", dict)):
        if not isinstance(entry.get(field), kind):
            raise ValueError(f"{field!r} is missing or not a {kind.__name__}")
    if not isinstance(entry["response"].get("text"), str):
        raise ValueError("'response' has no 'text' string")
    return entry


#: Suffixes a server adds to the requested model's name for the same model: a dated snapshot
#: (OpenAI answers ``gpt-4o`` as ``gpt-4o-2024-08-06``, ``gpt-4`` as ``gpt-4-0613``) or Ollama's
#: default tag. ``gpt-4o`` answered as ``gpt-4o-mini`` is another model.
_SAME_MODEL_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{4}|:latest)")


def same_model(requested: str, answered: str | None) -> bool:
    """Whether an answer from ``answered`` (the response's ``model``) is from the ``requested`` model:
    the same name, a dated snapshot of it, or Ollama's ``:latest`` tag of it. A server that names no
    model (None or empty) is taken at its word."""
    if not answered or answered == requested:
        return True
    return answered.startswith(requested) and bool(_SAME_MODEL_SUFFIX.fullmatch(answered[len(requested) :]))


class ApiError(RuntimeError):
    """An endpoint that did not answer usefully; the message names the source and the URL, never the key."""


def _deadline_transport(deadline_s: float):
    """An ``httpx`` transport whose every exchange must end within ``deadline_s`` seconds: a timer
    shuts the connection's socket down at the deadline (connections are not kept alive, so each
    exchange has its own), which ends a read the server trickles; the error is then a ``ReadTimeout``."""
    import httpx2 as httpx

    class DeadlineStream(httpx.SyncByteStream):
        """A response body under the deadline: a read the timer cut short is a ``ReadTimeout``."""

        def __init__(self, inner, done: Callable[[], None], late: Callable[[], Exception | None]):
            self._inner, self._done, self._late = inner, done, late

        def __iter__(self):
            try:
                yield from self._inner
            except Exception:
                error = self._late()
                if error is not None:
                    raise error from None
                raise
            finally:
                self._done()

        def close(self) -> None:
            self._done()
            self._inner.close()

    class DeadlineTransport(httpx.HTTPTransport):
        def handle_request(self, request):
            sockets: list = []
            expired = threading.Event()
            lock = threading.Lock()
            previous = request.extensions.get("trace")

            def shut(sock) -> None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

            def trace(event: str, info: dict) -> None:
                if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
                    sock = info["return_value"].get_extra_info("socket")
                    with lock:
                        sockets.append(sock)
                        if expired.is_set():  # the deadline passed while connecting
                            shut(sock)
                if previous is not None:
                    previous(event, info)

            def expire() -> None:
                with lock:
                    expired.set()
                    for sock in sockets:
                        shut(sock)

            def late() -> Exception | None:
                if not expired.is_set():
                    return None
                return httpx.ReadTimeout(f"no complete answer within {deadline_s:g} s", request=request)

            timer = threading.Timer(deadline_s, expire)
            timer.daemon = True
            request.extensions = {**request.extensions, "trace": trace}
            timer.start()
            try:
                response = super().handle_request(request)
            except Exception:
                timer.cancel()
                error = late()
                if error is not None:
                    raise error from None
                raise
            return httpx.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=DeadlineStream(response.stream, timer.cancel, late),
                extensions=response.extensions,
            )

    return DeadlineTransport(limits=httpx.Limits(max_keepalive_connections=0))


REDACTED = "[api key redacted]"


class _RedactKey(logging.Filter):
    """Replaces the key in a record's message and traceback before a handler writes it."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, REDACTED)
        return True


def redact_key_in_logs(settings: ApiSettings, handlers: Sequence[logging.Handler] | None = None) -> None:
    """Make ``handlers`` (default: the root logger's, where a job's log goes) write the key of
    ``settings`` as :data:`REDACTED`: whatever a library logs or raises, the job log never holds it."""
    if not settings.api_key_env:
        return
    secret = settings.api_key()
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, _RedactKey) and f.secret == secret for f in handler.filters):
            handler.addFilter(_RedactKey(secret))


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
        key = settings.api_key()
        self._secret = key if settings.api_key_env else None  # the placeholder of keyless servers is no secret
        # The limit applies where a request leaves (an HTTP event hook), so the client's own retries
        # count against it and a slow first connection cannot release a burst behind it.
        http_client = DefaultHttpxClient(
            event_hooks={"request": [lambda request: self.limiter.wait()]},
            transport=_deadline_transport(settings.timeout_s),
        )
        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=key,
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
            self._check_model(request["model"], entry["response"].get("model"))
            return self.redact(entry["response"]["text"])
        from openai import APIConnectionError, APIResponseValidationError, APIStatusError, AuthenticationError

        s = self.settings
        attempts = s.max_retries + 1
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
                    raise ApiError(
                        f"{s.name}: {s.base_url} answered {attempts} times with a malformed body "
                        f"({self.redact(str(exc))})"
                    ) from None
                delay = min(8.0, 0.5 * 2**attempt)
                log.warning("%s: malformed response (%s); retrying in %.1f s", s.name, self.redact(str(exc)), delay)
                time.sleep(delay)
                continue
            except AuthenticationError as exc:  # its body may echo the key: never shown
                source = f"the key in ${s.api_key_env}" if s.api_key_env else "no key (api_key_env is null)"
                raise ApiError(f"{s.name}: {s.base_url} refused {source} (HTTP {exc.status_code})") from None
            except APIStatusError as exc:
                raise ApiError(
                    f"{s.name}: {s.base_url} answered HTTP {exc.status_code} ({self.redact(exc.message)[:500]})"
                ) from None
            except APIConnectionError as exc:  # timeouts included, after the client's own retries
                raise ApiError(
                    f"{s.name}: no answer from {s.base_url} in {attempts} attempt(s) of at most {s.timeout_s:g} s "
                    f"({type(exc).__name__}: {self.redact(str(exc.__cause__ or exc))})"
                ) from None
            usage = response.usage.model_dump() if getattr(response, "usage", None) is not None else None
            answer = {
                "text": self.redact(choice.message.content or ""),
                "finish_reason": choice.finish_reason,
                "usage": usage,
                "model": self.redact(getattr(response, "model", None) or ""),
            }
            self.log.add(key, request, answer, time.monotonic() - started)  # paid for: kept, whoever answered
            with self._count_lock:
                self.sent += 1
            self._check_model(request["model"], answer["model"])
            return answer["text"]
        raise AssertionError("unreachable")

    def redact(self, text: str) -> str:
        """``text`` with the API key replaced (a server may echo it in an answer or an error)."""
        return text.replace(self._secret, REDACTED) if self._secret and text else text

    def _check_model(self, requested: str, answered: str | None) -> None:
        if not same_model(requested, answered):
            raise ApiError(
                f"{self.settings.name}: {self.settings.base_url} answered a request for model {requested!r} "
                f"with model {answered!r}; the answer is kept in {self.log.path}, but a source must be the "
                "model it is named for"
            )

    def map(self, jobs: Sequence[tuple[Messages, str]], progress: Callable[[int], None] | None = None) -> list[str]:
        """Answers to ``(messages, sample)`` jobs in order, ``settings.concurrency`` at a time."""

        def one(job):
            text = self.complete(*job)
            if progress:
                progress(1)
            return text

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            return list(pool.map(one, jobs))
