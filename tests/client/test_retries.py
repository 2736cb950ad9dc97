"""Retries: 429, 5xx and connection errors are tried again with backoff, ``Retry-After``
is honoured, a client's own mistake is not retried, and timeouts end a try."""

from __future__ import annotations

import socket
import time

import pytest

from convoscope.client import (
    AsyncClient,
    BadRequest,
    Client,
    ConnectionFailed,
    RateLimited,
    RequestTimeout,
    Retry,
    ServerError,
)
from convoscope.client.retries import retry_after
from tests.client.scripted_server import Answer, problem, scripted_server

CONVERSATION = {
    "id": "c1",
    "type": "openai",
    "createdAt": "2025-03-01T09:30:00.000Z",
    "updatedAt": "2025-03-01T09:30:00.000Z",
    "messages": [],
}
FAST = Retry(attempts=4, initial=0.01, max_wait=2.0)


def test_503_then_429_with_retry_after_then_success() -> None:
    answers = (
        Answer(503, problem(503, "service_unavailable", "starting")),
        Answer(429, problem(429, "rate_limited", "slow down"), {"Retry-After": "1"}),
        Answer(200, CONVERSATION),
    )
    with scripted_server(*answers) as (url, script), Client(url, "k", retry=FAST) as client:
        assert client.get_conversation("c1").id == "c1"
    times = [when for _, _, when in script.requests]
    assert len(times) == 3
    assert times[2] - times[1] >= 0.95, "Retry-After: 1 was honoured"


def test_retries_end_with_the_typed_error() -> None:
    with (
        scripted_server(Answer(500, problem(500, "internal_server_error", "boom"))) as (
            url,
            script,
        ),
        Client(url, "k", retry=FAST) as client,
    ):
        with pytest.raises(ServerError) as failed:
            client.list_conversations()
    assert (failed.value.status, failed.value.detail, len(script.requests)) == (500, "boom", 4)
    with (
        scripted_server(Answer(429, problem(429, "rate_limited", "no"))) as (url, script),
        Client(url, "k", retry=Retry(attempts=2, initial=0.01)) as client,
    ):
        with pytest.raises(RateLimited):
            client.list_conversations()
    assert len(script.requests) == 2


def test_a_client_mistake_is_not_retried() -> None:
    with (
        scripted_server(Answer(400, problem(400, "bad_request", "limit"))) as (url, script),
        Client(url, "k", retry=FAST) as client,
    ):
        with pytest.raises(BadRequest):
            client.list_conversations(limit=5000)
    assert len(script.requests) == 1


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with Client(f"http://127.0.0.1:{port}", "k", retry=FAST) as client:
        with pytest.raises(ConnectionFailed):
            client.list_conversations()
    assert time.monotonic() - started < 5


def test_a_slow_server_times_out() -> None:
    with (
        scripted_server(Answer(200, CONVERSATION, delay=1.0)) as (url, script),
        Client(url, "k", timeout=0.2, retry=Retry(attempts=2, initial=0.01)) as client,
    ):
        with pytest.raises(RequestTimeout):
            client.get_conversation("c1")
    assert len(script.requests) == 2


async def test_async_client_retries_too() -> None:
    answers = (Answer(502, None), Answer(200, CONVERSATION))
    with scripted_server(*answers) as (url, script):
        async with AsyncClient(url, "k", retry=FAST) as client:
            assert (await client.get_conversation("c1")).id == "c1"
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("3", 3.0, id="seconds"),
        pytest.param(None, None, id="absent"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="date-in-the-past"),
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds
