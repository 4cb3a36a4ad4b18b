"""A loopback OpenAI-compatible chat-completions server for the eval engine's tests and benchmark.

It listens on 127.0.0.1 only, on a free port, in a background thread, and stops when the ``with`` block
ends. It answers ``POST /v1/chat/completions`` with bodies shaped as the published
CreateChatCompletionResponse schema, after ``delay_s``; ``faults`` is a queue of (status, headers) to
answer instead (429 with Retry-After, 500...), ``fail_when`` answers a status for matching prompts every
time. It counts requests and the most it held in flight at once. A handler thread never waits on
anything but its own delay; sockets time out after 30 s, so nothing can hang a test run.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answerer = Callable[[list[dict[str, Any]]], str]


def echo_last_user(messages: list[dict[str, Any]]) -> str:
    return str([m for m in messages if m.get("role") == "user"][-1]["content"])


@dataclass
class ServerState:
    answer: Answerer = echo_last_user
    delay_s: float = 0.0
    faults: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    fail_when: Callable[[list[dict[str, Any]]], int | None] | None = None
    require_key: str | None = None
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def completion(text: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A CreateChatCompletionResponse body (the required fields and usage)."""
    return {
        "id": "chatcmpl-loopback", "object": "chat.completion", "created": 1764201600, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
        timeout = 30

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def setup(self) -> None:
            super().setup()
            # headers and body leave in two writes: without this, Nagle + delayed ACK add ~40 ms per answer
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with state.lock:
                state.requests += 1
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.bodies.append(body)
                fault = state.faults.popleft() if state.faults else None
            try:
                self._answer(body, fault)
            finally:
                with state.lock:
                    state.in_flight -= 1

        def _answer(self, body: dict[str, Any], fault: tuple[int, dict[str, str]] | None) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            if state.require_key and self.headers.get("Authorization") != f"Bearer {state.require_key}":
                self._send(401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key",
                                           "type": "invalid_request_error"}})
                return
            if state.delay_s:
                time.sleep(state.delay_s)
            status = fault[0] if fault else (state.fail_when(body["messages"]) if state.fail_when else None)
            if status:
                message = "Rate limit reached" if status == 429 else "The server had an error"
                self._send(status, {"error": {"message": message, "type": "server_error", "code": None}},
                           fault[1] if fault else None)
                return
            text = state.answer(body["messages"])
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
            self._send(200, completion(text, body.get("model", "m"), prompt_tokens, len(text.split())))

    return Handler


class LoopbackOpenAI:
    """``with LoopbackOpenAI(delay_s=0.1) as server: ... server.base_url ...``"""

    def __init__(self, **state: Any) -> None:
        state["faults"] = deque(state.get("faults", ()))
        self.state = ServerState(**state)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> LoopbackOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def main() -> None:
    """``python tests/eval/loopback_openai.py DELAY_S``: serve until stdin closes (the benchmark runs the
    server in its own process so that its threads do not compete with the client's for the GIL)."""
    import sys

    with LoopbackOpenAI(delay_s=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
