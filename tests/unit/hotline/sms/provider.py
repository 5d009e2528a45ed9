"""A real HTTP server on loopback playing a cloud SMS provider: it records every request
and answers with what the test told it to (by default 200 and a message id)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.local_http import serving


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Provider:
    url: str
    requests: list[Seen] = field(default_factory=list)
    # (status, body) answered in turn; when empty, 200 and {"code": 0, "data": {...}}
    answers: list[tuple[int, str]] = field(default_factory=list)


@contextmanager
def provider() -> Iterator[Provider]:
    state = Provider(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.requests.append(Seen(self.command, self.path, dict(self.headers), body))
                number = len(state.requests)
                status, text = (state.answers.pop(0) if state.answers else
                                (200, json.dumps({"code": 0, "data": {"messageId": f"P{number}"}})))
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as state.url:
        yield state
