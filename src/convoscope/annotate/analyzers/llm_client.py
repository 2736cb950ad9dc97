"""HTTP side of the LLM analyzer: one chat-completions call, made safely.

`ChatClient.complete` sends one request and returns the assistant's text. Around it:

- a bounded number of requests in flight (a semaphore) and a requests-per-minute limiter
  shared by every batch of the analyzer (`RateLimiter`);
- a hard deadline per request: `asyncio.timeout` covers connecting, sending and reading the
  whole body, which httpx's own per-operation timeouts do not (a server trickling bytes
  could otherwise hold a request for much longer than the timeout);
- 429 and 5xx retried with backoff, honouring Retry-After, for at most `MAX_ATTEMPTS`
  attempts and `RETRY_WAIT_BUDGET_SECONDS` of waiting; a longer Retry-After gives up at once;
- the response_format ladder: json_schema, then json_object, then none, stepping down on a
  400 that names response_format, and remembered for later requests (`FormatLadder`);
- a breaker: after a request fails for a reason other than its content (timeout, refused
  connection, retries exhausted, 401...), the batch's remaining requests are not sent, so
  an unreachable or overloaded server costs one timeout per batch, not one per request.

Failures raise `LLMUnavailable` (the server could not be used; `LLMSkipped` when the
breaker stopped the request from being sent) or `InvalidReply` (it answered 200 with
something that is not a chat completion).
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_WAIT_BUDGET_SECONDS = 30.0
BACKOFF_BASE_SECONDS = 0.5
_RESPONSE_FORMAT_WORDS = ("response_format", "response format", "json_schema", "json_object")


class LLMUnavailable(Exception):
    """The request could not be completed; the threads keep their offline annotations."""


class LLMSkipped(LLMUnavailable):
    """The request was not sent because an earlier one of the batch failed."""


class InvalidReply(Exception):
    """The server answered 200, but not with a chat completion carrying text."""


class ResponseFormat(enum.IntEnum):
    """How the reply's shape is requested, most to least constrained."""

    JSON_SCHEMA = 0
    JSON_OBJECT = 1
    PLAIN = 2

    def body_field(self, schema_name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        """The request's `response_format` value, or None for PLAIN."""
        if self is ResponseFormat.JSON_SCHEMA:
            return {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "strict": True, "schema": schema},
            }
        if self is ResponseFormat.JSON_OBJECT:
            return {"type": "json_object"}
        return None


class FormatLadder:
    """The response format the server accepts, learned once and kept for the analyzer's life.

    Only ever steps down, so requests racing on the first batch cannot undo each other.
    """

    def __init__(self) -> None:
        self._level = ResponseFormat.JSON_SCHEMA
        self._lock = threading.Lock()

    @property
    def level(self) -> ResponseFormat:
        return self._level

    def step_down(self, rejected: ResponseFormat) -> ResponseFormat:
        """Record that `rejected` was refused; returns the level to use now."""
        with self._lock:
            if rejected < ResponseFormat.PLAIN and self._level <= rejected:
                self._level = ResponseFormat(rejected + 1)
                logger.warning(
                    "LLM server rejected response_format %s; using %s from now on",
                    rejected.name.lower(),
                    self._level.name.lower(),
                )
            return self._level


class RateLimiter:
    """Spaces request starts evenly: at most `per_minute` starts in any minute.

    Uses the monotonic clock and a thread lock, not the event loop, because each batch runs
    in its own event loop and the limit has to hold across batches.
    """

    def __init__(self, per_minute: int) -> None:
        self._interval = 60.0 / per_minute
        self._next = -math.inf
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next start; returns how many seconds to wait before it."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
            return start - now

    def defer(self, seconds: float) -> None:
        """Start nothing for `seconds` (the server asked for a pause with Retry-After)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class ChatClient:
    """Sends chat-completions requests for one batch; see the module docstring."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout_seconds: float,
        max_concurrency: int,
        limiter: RateLimiter,
        ladder: FormatLadder,
        secret: str = "",
    ) -> None:
        self._http = http
        self._timeout = timeout_seconds
        self._slots = asyncio.Semaphore(max_concurrency)
        self._limiter = limiter
        self._ladder = ladder
        self._secret = secret
        self._broken: str | None = None

    async def complete(self, build_body: Callable[[ResponseFormat], dict[str, Any]]) -> str:
        """POST /chat/completions and return the assistant's text.

        `build_body` makes the request body for a response-format level; it is called again
        when the level steps down.
        """
        failures = 0
        waited = 0.0
        while True:
            level = self._ladder.level
            response = await self._send(build_body(level))
            status = response.status_code
            if status == 400 and level < ResponseFormat.PLAIN and self._names_format(response):
                self._ladder.step_down(level)
                continue
            if status == 429 or status >= 500:
                failures += 1
                asked = _retry_after(response)
                wait = BACKOFF_BASE_SECONDS * 2 ** (failures - 1) if asked is None else asked
                if failures >= MAX_ATTEMPTS or waited + wait > RETRY_WAIT_BUDGET_SECONDS:
                    raise self._break(f"HTTP {status} after {failures} attempt(s)")
                logger.info("LLM server answered %d; retrying in %.1f s", status, wait)
                if status == 429:
                    self._limiter.defer(wait)
                waited += wait
                await asyncio.sleep(wait)
                continue
            if status != 200:
                raise self._break(f"HTTP {status}: {self._snippet(response)}")
            return _content(response)

    async def _send(self, body: dict[str, Any]) -> httpx.Response:
        async with self._slots:
            await asyncio.sleep(self._limiter.reserve())
            # Checked after the rate-limit wait: the breaker may have tripped during it.
            if self._broken is not None:
                raise LLMSkipped(f"not sent: an earlier request failed ({self._broken})")
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._http.post("chat/completions", json=body)
            except TimeoutError:
                raise self._break(f"no answer within {self._timeout:g} s") from None
            except httpx.HTTPError as err:
                raise self._break(f"{type(err).__name__}: {self._scrub(str(err))}") from None

    def _break(self, reason: str) -> LLMUnavailable:
        if self._broken is None:
            self._broken = reason
        return LLMUnavailable(reason)

    def _names_format(self, response: httpx.Response) -> bool:
        text = response.text.lower()
        return any(word in text for word in _RESPONSE_FORMAT_WORDS)

    def _snippet(self, response: httpx.Response) -> str:
        return self._scrub(" ".join(response.text.split())[:200])

    def _scrub(self, text: str) -> str:
        # Error bodies and messages are logged; a server echoing the request must not leak
        # the key into the logs.
        return text.replace(self._secret, "***") if self._secret else text


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (Retry-After in seconds or as an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _content(response: httpx.Response) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise InvalidReply(f"not a chat completion ({type(err).__name__})") from None
    if not isinstance(content, str):
        raise InvalidReply("the completion has no text content")
    return content
