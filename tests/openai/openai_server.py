"""A real HTTP server on loopback speaking OpenAI's wire format: chat completions and
responses, as JSON or as server-sent events. The OpenAI library under test talks to it
over sockets exactly as it talks to OpenAI.

What it answers depends on the last user message: one containing ``tool`` gets text and
then two tool calls (their arguments split over several deltas), ``fail`` gets a 400,
anything else ``echo: <message>``. A body with any ``convoscope_`` key gets a 400 too:
those arguments must never reach OpenAI.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
TOOL_CALLS = [
    {"id": "call_a", "name": "lookup", "arguments": '{"code": "E42", "lang": "en"}'},
    {"id": "call_b", "name": "search", "arguments": '{"q": "rotate key"}'},
]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _chat_completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": f"echo: {text}"}
    finish = "stop"
    if "tool" in text:
        message = {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in TOOL_CALLS
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", "gpt-test"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": USAGE,
    }


def _chunk(
    body: dict[str, Any], delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": body.get("model", "gpt-test"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def _chat_chunks(text: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _chunk(body, {"role": "assistant", "content": ""})
    if "tool" in text:
        yield _chunk(body, {"content": "Let me "})
        yield _chunk(body, {"content": "check."})
        for index, call in enumerate(TOOL_CALLS):
            first = {"index": index, "id": call["id"], "type": "function",
                     "function": {"name": call["name"], "arguments": ""}}  # fmt: skip
            yield _chunk(body, {"tool_calls": [first]})
            arguments = call["arguments"]
            for start in range(0, len(arguments), 5):
                piece = {"index": index, "function": {"arguments": arguments[start : start + 5]}}
                yield _chunk(body, {"tool_calls": [piece]})
        yield _chunk(body, {}, "tool_calls")
    else:
        for word in f"echo: {text}".split(" "):
            yield _chunk(body, {"content": word + " "})
        yield _chunk(body, {}, "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**_chunk(body, {}), "choices": [], "usage": USAGE}


def _response(text: str, body: dict[str, Any], number: int) -> dict[str, Any]:
    return {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": 1_700_000_000,
        "model": body.get("model", "gpt-test"),
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": f"msg_{number}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": f"echo: {text}", "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": 5,
            "output_tokens": 3,
            "total_tokens": 8,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def _response_text(body: dict[str, Any]) -> str:
    given = body.get("input")
    if isinstance(given, str):
        return given
    return _last_user_text([i for i in given or [] if isinstance(i, dict)])


class OpenAIServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._numbers = iter(range(1, 1_000_000))
        self._lock = threading.Lock()

    def number(self) -> int:
        with self._lock:
            return next(self._numbers)


@contextmanager
def openai_server() -> Iterator[tuple[str, OpenAIServer]]:
    state = OpenAIServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _events(self, events: Iterator[tuple[str | None, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for name, data in events:
                    text = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
                    raw = text.encode()
                    self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                    self.wfile.flush()
                    time.sleep(0.001)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            if any(key.startswith("convoscope_") for key in body):
                return self._json(
                    400,
                    {"error": {"message": "unknown parameter", "type": "invalid_request_error"}},
                )
            if self.path.endswith("/chat/completions"):
                text = _last_user_text(body.get("messages") or [])
                if "fail" in text:
                    return self._json(
                        400,
                        {"error": {"message": "bad request: fail", "type": "invalid_request_error",
                                   "param": "messages", "code": None}},
                    )  # fmt: skip
                if body.get("stream"):
                    events = [(None, json.dumps(c)) for c in _chat_chunks(text, body)]
                    return self._events(iter([*events, (None, "[DONE]")]))
                return self._json(200, _chat_completion(text, body))
            if self.path.endswith("/responses"):
                text = _response_text(body)
                response = _response(text, body, state.number())
                if not body.get("stream"):
                    return self._json(200, response)
                return self._events(iter(_response_events(response, f"echo: {text}")))
            self._json(404, {"error": {"message": "no such path", "type": "not_found"}})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()


def _response_events(response: dict[str, Any], text: str) -> list[tuple[str | None, str]]:
    sequence = iter(range(1_000))
    events: list[tuple[str | None, str]] = []

    def add(kind: str, **fields: Any) -> None:
        events.append(
            (kind, json.dumps({"type": kind, "sequence_number": next(sequence), **fields}))
        )

    created = {**response, "status": "in_progress", "output": []}
    add("response.created", response=created)
    for word in text.split(" "):
        add("response.output_text.delta", item_id=response["output"][0]["id"], output_index=0,
            content_index=0, delta=word + " ", logprobs=[])  # fmt: skip
    add("response.completed", response=response)
    return events
