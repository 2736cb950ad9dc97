"""A small OpenAI-compatible chat-completions server on loopback, scripted by each test.

`StubLLMServer` runs uvicorn in a thread on 127.0.0.1 and a free port. Every request to
``POST /v1/chat/completions`` is recorded (`requests`) and answered by `responder`, a
function from the recorded request to a `Reply`. It also tracks the most requests ever
handled at once (`max_in_flight`). `good_item` plays a well-behaved model: it derives a
valid annotation from the thread it was sent, with a subject starting "LLM", so tests can
tell LLM values from offline ones.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Recorded:
    """One request as the stub received it."""

    body: dict[str, Any]
    headers: dict[str, str]
    arrived: float

    @property
    def threads(self) -> list[dict[str, Any]]:
        """The threads of the user message (the analyzer sends them as JSON)."""
        user = next(m for m in self.body["messages"] if m["role"] == "user")
        threads: list[dict[str, Any]] = json.loads(user["content"])["threads"]
        return threads

    @property
    def system(self) -> str:
        return str(next(m for m in self.body["messages"] if m["role"] == "system")["content"])

    @property
    def format_type(self) -> str | None:
        """The requested response_format type, or None when there is none."""
        response_format = self.body.get("response_format")
        return None if response_format is None else str(response_format["type"])


@dataclass(frozen=True)
class Reply:
    """How the stub answers: a chat completion with `content`, or a raw `status` + `body`."""

    content: str | None = None
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[Recorded], Reply]


def good_item(thread: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A valid reply item for a thread of the request, marked as the LLM's work."""
    item: dict[str, Any] = {
        "index": thread["index"],
        "subject": "LLM " + " ".join(thread["question"].split()[:3]),
        "questionType": "how_to",
        "languages": ["en"],
        "programmingLanguages": [],
        "sentiment": "neutral",
        "emotion": "neutral",
        "firstPartyEntities": [],
        "thirdPartyEntities": [],
        "isOnTopic": True,
        "isClear": True,
        "isDocumented": True,
        "isFeatureSupported": True,
        "isAnswerConfident": True,
        "gapSummary": None,
    }
    item.update(overrides)
    return item


def answer(items: list[dict[str, Any]], **reply: Any) -> Reply:
    """A completion whose content is ``{"threads": items}``."""
    return Reply(content=json.dumps({"threads": items}), **reply)


def answer_all(request: Recorded) -> Reply:
    """The well-behaved model: a valid item for every thread."""
    return answer([good_item(t) for t in request.threads])


class StubLLMServer:
    """See the module docstring. Use as a context manager; `reset()` between tests."""

    def __init__(self) -> None:
        self.responder: Responder = answer_all
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/v1/chat/completions", self._handle, methods=["POST"])])
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            # A slow handler left behind by a test must not hold up the end of the run.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> StubLLMServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stub LLM server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def reset(self, responder: Responder = answer_all) -> None:
        """Forget recorded requests, once handlers of earlier requests have finished."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.in_flight:
            raise RuntimeError("a stub handler is still running from an earlier request")
        with self._lock:
            self.responder = responder
            self.requests = []
            self.max_in_flight = 0

    async def _handle(self, request: Request) -> Response:
        recorded = Recorded(
            body=await request.json(), headers=dict(request.headers), arrived=time.monotonic()
        )
        with self._lock:
            self.requests.append(recorded)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            responder = self.responder
        try:
            reply = responder(recorded)
            if reply.delay:
                await _sleep_unless_gone(request, reply.delay)
            if reply.content is None:
                return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
            completion = {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": 0,
                "model": recorded.body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
            }
            return JSONResponse(completion, status_code=reply.status, headers=reply.headers)
        finally:
            with self._lock:
                self.in_flight -= 1


async def _sleep_unless_gone(request: Request, seconds: float) -> None:
    """Sleep, but stop as soon as the client hangs up (as a real server would)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.02)
