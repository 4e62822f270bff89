"""A small OpenAI-compatible HTTP server for the API-baseline tests (stdlib only, runs in a thread).

It answers ``POST /v1/chat/completions``:

* a generator request gets a tagged triple drawn from ``elements`` with an RNG seeded by the
  request body, so the same request always gets the same answer;
* a judge request (its first message contains ``JUDGE_MARKER``) gets ``Valid`` or
  ``Invalid: <reason>``, chosen by the same seeded RNG with probability ``valid_fraction``;
* a DSPy request (its system message uses DSPy's ``[[ ## field ## ]]`` chat format) gets every
  output field it asks for: a triple for ``generation``, a fixed sentence for the rest.

``faults`` is a queue of misbehaviours served one per request before normal answers resume:
``"429"``, ``"500"``, ``"malformed"`` (a 200 whose body is not JSON), ``"truncated"`` (a 200 whose
text stops inside the second tag, finish_reason ``length``), ``"trickle"`` (a normal answer sent one
byte every ``trickle_s`` seconds), ``"401-echo"`` (a 401 whose body echoes the request's
Authorization header) and ``"echo-key"`` (a 200 whose text echoes it). ``answer_model``, when set,
is the model every answer claims to come from (else the requested one). Every request body received is
counted in ``received`` (content keys, in arrival order; the bodies in ``bodies``) and every 200 answered in ``answered``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JUDGE_MARKER = "You are the evaluator"


class ChatServer:
    def __init__(self, elements=("Al", "Mo", "Nb", "Ni"), valid_fraction: float = 0.5, delay_s: float = 0.0):
        self.elements = list(elements)
        self.valid_fraction = valid_fraction
        self.delay_s = delay_s
        self.faults: deque[str] = deque()
        self.answer_model: str | None = None
        self.trickle_s = 0.5
        self.received: list[str] = []
        self.bodies: list[dict] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.answered: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server._handle(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def content_key(self, body: bytes) -> str:
        return self.key_of(json.loads(body))

    @staticmethod
    def key_of(request: dict) -> str:
        """Hash of a request's model, messages, temperature, max_tokens and seed (what decides the answer)."""
        keep = {k: request.get(k) for k in ("model", "messages", "temperature", "max_tokens", "seed")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()

    def _reply(self, handler, status: int, payload: bytes, headers: dict | None = None, trickle: bool = False) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if not trickle:
            handler.wfile.write(payload)
            return
        try:
            for index in range(len(payload)):
                handler.wfile.write(payload[index : index + 1])
                handler.wfile.flush()
                time.sleep(self.trickle_s)
        except OSError:  # the client hung up
            pass

    def _handle(self, handler, body: bytes) -> None:
        if handler.path.rstrip("/") != "/v1/chat/completions":
            self._reply(handler, 404, b'{"error": {"message": "not found"}}')
            return
        key = self.content_key(body)
        with self.lock:
            self.received.append(key)
            self.bodies.append(json.loads(body))
            self.arrivals.append(time.monotonic())
            fault = self.faults.popleft() if self.faults else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault == "429":
            self._reply(handler, 429, b'{"error": {"message": "rate limited"}}', {"retry-after-ms": "10"})
            return
        if fault == "500":
            self._reply(handler, 500, b'{"error": {"message": "boom"}}', {"retry-after-ms": "10"})
            return
        if fault == "malformed":
            self._reply(handler, 200, b'{"id": "x", "choices": [{"message": ')
            return
        authorization = handler.headers.get("Authorization", "")
        if fault == "401-echo":
            body = {"error": {"message": f"Incorrect API key provided: {authorization}", "code": "invalid_api_key"}}
            self._reply(handler, 401, json.dumps(body).encode())
            return
        request = json.loads(body)
        rng = random.Random(key)
        messages = request["messages"]
        finish = "stop"
        if JUDGE_MARKER in messages[0]["content"]:
            text = "Valid" if rng.random() < self.valid_fraction else "Invalid: the B2 volume is implausible."
        elif "[[ ## " in messages[0]["content"]:
            text = self.dspy_answer(messages[0]["content"], rng)
        else:
            text = self.triple(rng)
            if fault == "truncated":
                text, finish = text[: text.index("<B2>") + 6], "length"
            if fault == "echo-key":
                text = f"{text} (you sent {authorization})"
        payload = {
            "id": f"chatcmpl-{key[:12]}",
            "object": "chat.completion",
            "created": 0,
            "model": self.answer_model or request.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        with self.lock:
            self.answered.append(key)
        self._reply(handler, 200, json.dumps(payload).encode(), trickle=fault == "trickle")

    def dspy_answer(self, system: str, rng: random.Random) -> str:
        """DSPy's chat format: every output field the system message asks for, then the end marker."""
        block = re.search(r"Your output fields are:\n(.*?)(?:\n\n|$)", system, re.DOTALL)
        names = re.findall(r"`(\w+)`", block.group(1)) if block else ["generation"]
        parts = []
        for name in names:
            value = self.triple(rng) if name == "generation" else "Suggest a BCC-B2 alloy with many distinct elements."
            parts.append(f"[[ ## {name} ## ]]\n{value}")
        return "\n\n".join(parts + ["[[ ## completed ## ]]"])

    def triple(self, rng: random.Random) -> str:
        a, b = rng.sample(self.elements, 2)
        c, d = rng.sample(self.elements, 2)
        volume = round(rng.uniform(20, 70), 2)
        return f"<BCC>{a}{b}</BCC><B2>{c}{d}</B2><B2 Volume>{volume}</B2 Volume>"
