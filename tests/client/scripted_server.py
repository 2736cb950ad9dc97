"""A real HTTP server on loopback that answers from a script, for retry and timeout tests:
the client's retries are exercised over real sockets, not by replacing its transport."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Script:
    """Answers given in order (the last one repeats); what each request was."""

    answers: list[Answer]
    requests: list[tuple[str, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, method: str, path: str) -> Answer:
        with self.lock:
            self.requests.append((method, path, time.monotonic()))
            index = min(len(self.requests) - 1, len(self.answers) - 1)
            return self.answers[index]


@contextmanager
def scripted_server(*answers: Answer) -> Iterator[tuple[str, Script]]:
    script = Script(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            answer = script.next(self.command, self.path)
            if answer.delay:
                time.sleep(answer.delay)
            payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            kind = "application/json" if answer.status < 400 else "application/problem+json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


def problem(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "title": code.replace("_", " ").title(),
        "status": status,
        "detail": detail,
        "code": code,
        "error": {"code": code, "message": detail},
        "requestId": "req_test",
    }
