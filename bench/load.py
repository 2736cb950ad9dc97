"""A minimal HTTP/1.1 keep-alive load generator on asyncio (uvloop).

Why not httpx: its async client spends tens of microseconds of Python per request in
its connection pool and header models. On a two-core machine the generator shares the
CPU with the server, so every microsecond it spends is one the server cannot; this
client writes pre-built request bytes and reads ``Content-Length``-framed answers, and
nothing else. It keeps one request in flight per connection (no pipelining), so
``concurrency`` connections are ``concurrency`` concurrent clients.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import uvloop


def build_requests(
    port: int, path: str, bodies: Sequence[bytes], authorization: str | None
) -> list[bytes]:
    """Complete request bytes (head and body), so the timed loop only writes them."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    if authorization is not None:
        head += f"Authorization: {authorization}\r\n"
    prefix = head.encode()
    return [prefix + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies]


class ProtocolError(ConnectionError):
    """The server answered something this client does not parse (e.g. no Content-Length)."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._expected = -1  # total length of the current answer, once its head is read
        self._status = 0
        self.port = 0  # set by _connect, for a reconnection
        self._waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is not a subclass of asyncio.Transport, but is one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._expected < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            self._status = int(head[9:12])
            start = head.find(b"\r\ncontent-length:")
            if start < 0:
                self._fail(ProtocolError("answer without Content-Length"))
                return
            stop = head.find(b"\r\n", start + 2)
            length = int(head[start + 17 : stop if stop >= 0 else None])
            self._expected = end + 4 + length
            if b"\r\nconnection: close" in head:
                self.closed = True
        if len(self._buffer) >= self._expected:
            del self._buffer[: self._expected]
            self._expected = -1
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(self._status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("connection closed by the server"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self._transport is not None:
            self._transport.close()

    async def send(self, request: bytes) -> int:
        """Write one request and return the status of its answer."""
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _connect(port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
    protocol.port = port
    return protocol


@dataclass
class LoadResult:
    """What one timed run saw. Latencies are of every answer, in nanoseconds."""

    elapsed_s: float
    statuses: Counter[int]
    latencies_ns: list[int]
    pool_exhausted: bool
    connection_errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        return sum(self.statuses.values()) - self.ok + self.connection_errors

    @property
    def rps(self) -> float:
        """Successful answers per second."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the latencies."""
        if not self.latencies_ns:
            return math.nan
        ordered = sorted(self.latencies_ns)
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[rank - 1] / 1e6


async def _drive(
    port: int | Sequence[int], requests: Sequence[bytes], concurrency: int, duration_s: float | None
) -> LoadResult:
    ports = [port] if isinstance(port, int) else list(port)
    # Connect first: opening connections is not what is being measured.
    connections = await asyncio.gather(
        *(_connect(ports[i % len(ports)]) for i in range(concurrency))
    )
    statuses: Counter[int] = Counter()
    latencies: list[int] = []
    errors: list[str] = []
    next_index = 0
    connection_errors = 0
    clock = time.perf_counter_ns
    started = clock()
    deadline = started + int(duration_s * 1e9) if duration_s is not None else None

    async def client(connection: _Connection) -> None:
        nonlocal next_index, connection_errors
        while next_index < len(requests) and (deadline is None or clock() < deadline):
            # One event loop thread: taking the next index needs no lock.
            request = requests[next_index]
            next_index += 1
            if connection.closed:
                connection = await _connect(connection.port)
            sent = clock()
            try:
                status = await connection.send(request)
            except (ConnectionError, OSError) as exc:
                connection_errors += 1
                if len(errors) < 5:
                    errors.append(repr(exc))
                continue
            latencies.append(clock() - sent)
            statuses[status] += 1
        connection.close()

    await asyncio.gather(*(client(c) for c in connections))
    elapsed = (clock() - started) / 1e9
    return LoadResult(
        elapsed_s=elapsed,
        statuses=statuses,
        latencies_ns=latencies,
        pool_exhausted=next_index >= len(requests)
        and duration_s is not None
        and elapsed < duration_s,
        connection_errors=connection_errors,
        error_samples=errors,
    )


def run_load(
    port: int | Sequence[int],
    requests: Sequence[bytes],
    *,
    concurrency: int,
    duration_s: float | None,
) -> LoadResult:
    """Send ``requests`` in order from ``concurrency`` keep-alive connections.

    Stops at the first of: every request sent, or ``duration_s`` elapsed (requests in
    flight then still complete and count). ``duration_s=None`` sends them all. Several
    ports: the connections are dealt to them in turn, as a load balancer would.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_drive(port, requests, concurrency, duration_s))


@dataclass
class OpenLoopResult:
    """What an open-loop run saw: requests were offered at a fixed rate, whatever the
    answers took. Latencies are by status, in nanoseconds."""

    elapsed_s: float
    offered: int
    # Offered while every one of the connections allowed was waiting for an answer:
    # never sent (a real client would have queued or retried it).
    shed: int
    statuses: Counter[int]
    latencies_ns: dict[int, list[int]]
    # Indices (into the requests) of the requests answered with a 2xx.
    acknowledged: list[int]
    connection_errors: int = 0
    most_connections: int = 0
    error_samples: list[str] = field(default_factory=list)


async def _open_loop(
    port: int, requests: Sequence[bytes], rate: float, duration_s: float, max_connections: int
) -> OpenLoopResult:
    # Idle connections with when each was last answered. One idle for longer than
    # uvicorn's keep-alive (5 s) is closed by the server, and reused just as it does that,
    # it is reset: a client's race, not the server's answer, so such a one is replaced.
    idle: list[tuple[_Connection, int]] = []
    stale_ns = 4 * 10**9
    statuses: Counter[int] = Counter()
    latencies: dict[int, list[int]] = {}
    acknowledged: list[int] = []
    in_flight: set[asyncio.Task[None]] = set()
    opened = errors = shed = most = 0
    samples: list[str] = []
    clock = time.perf_counter_ns

    async def one(connection: _Connection | None, index: int) -> None:
        nonlocal errors, opened
        fresh = connection is None
        sent = clock()
        try:
            if connection is None:
                connection = await _connect(port)
            status = await connection.send(requests[index])
        except (ConnectionError, OSError, RuntimeError) as exc:  # uvloop: transport closed
            errors += 1
            if len(samples) < 5:
                samples.append(f"{'new' if fresh else 'kept'} connection: {exc!r}")
            opened -= 1  # its place may be taken by a new connection
            return
        latencies.setdefault(status, []).append(clock() - sent)
        statuses[status] += 1
        if 200 <= status < 300:
            acknowledged.append(index)
        if connection.closed:
            opened -= 1
        else:
            idle.append((connection, clock()))

    started = clock()
    offered = 0
    while offered < len(requests):
        elapsed = (clock() - started) / 1e9
        if elapsed >= duration_s:
            break
        due = min(len(requests), int(elapsed * rate) + 1)
        while offered < due:
            connection = None
            while idle and connection is None:
                connection, last = idle.pop()
                if connection.closed or clock() - last > stale_ns:
                    connection.close()
                    connection = None
                    opened -= 1
            if connection is None and opened >= max_connections:
                shed += 1
            else:
                if connection is None:
                    opened += 1
                    most = max(most, opened)
                task = asyncio.ensure_future(one(connection, offered))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            offered += 1
        await asyncio.sleep(0.001)
    elapsed = (clock() - started) / 1e9
    if in_flight:
        await asyncio.gather(*in_flight)
    for connection, _ in idle:
        connection.close()
    return OpenLoopResult(
        elapsed_s=elapsed,
        offered=offered,
        shed=shed,
        statuses=statuses,
        latencies_ns=latencies,
        acknowledged=sorted(acknowledged),
        connection_errors=errors,
        most_connections=most,
        error_samples=samples,
    )


def run_open_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration_s: float,
    max_connections: int,
) -> OpenLoopResult:
    """Offer ``requests`` in order at ``rate`` a second for ``duration_s``, each on an
    idle keep-alive connection, opening up to ``max_connections``. Requests in flight at
    the end still complete and count."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_open_loop(port, requests, rate, duration_s, max_connections))
