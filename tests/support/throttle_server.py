"""A scripted loopback server speaking the JSON 1.1 protocol CloudWatch Logs uses, for what moto cannot do:
answer ThrottlingException a given number of times, or return empty pages that still carry a nextToken.

It answers each request with the next scripted (status, body) pair, whatever the operation, and records
every request's X-Amz-Target and JSON body so tests can assert what the client sent (and how often).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})


@dataclass
class ScriptedRequest:
    target: str  # e.g. "Logs_20140328.FilterLogEvents"
    body: dict[str, Any]


@dataclass
class ScriptedServer:
    """The responses still to give, and the requests received so far."""

    url: str = ""
    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[ScriptedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *responses: tuple[int, dict[str, Any]]) -> None:
        with self.lock:
            self.responses.extend(responses)

    def next_response(self, request: ScriptedRequest) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(request)
            if not self.responses:
                return 500, {"__type": "InternalFailure", "message": "the test scripted no more responses"}
            return self.responses.pop(0)


def _handler(state: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b"{}"
            request = ScriptedRequest(self.headers.get("X-Amz-Target", ""), json.loads(raw or b"{}"))
            status, body = state.next_response(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", f"req-{len(state.requests)}")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read state, not stderr
            return

    return Handler


@contextlib.contextmanager
def running_scripted_server() -> Iterator[ScriptedServer]:
    """A scripted server on a free loopback port, for the duration of the block."""
    state = ScriptedServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """For a test module to import: a running scripted server."""
    with running_scripted_server() as state:
        yield state
