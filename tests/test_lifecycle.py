"""The one shape of background work: steps repeat, failures are logged and retried with
a doubling wait, and a stop cancels a step that outlives its timeout."""

from __future__ import annotations

import asyncio
import logging

import pytest

from convoscope.lifecycle import Service


class Flaky(Service):
    name = "flaky work"

    def __init__(self, fail_times: int) -> None:
        super().__init__(interval=0.001, retry=0.001, retry_max=0.004)
        self.fail_times = fail_times
        self.calls = 0
        self.waits: list[float] = []
        self.done = asyncio.Event()

    async def step(self) -> float | None:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise RuntimeError(f"failure {self.calls}")
        self.done.set()
        return None

    async def sleep(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return await super().sleep(seconds)


async def test_a_failing_step_is_logged_and_retried_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Flaky(fail_times=4)
    with caplog.at_level(logging.ERROR, logger="convoscope.lifecycle"):
        async with service:
            await asyncio.wait_for(service.done.wait(), 10)
    assert service.waits[:5] == [0.0, 0.001, 0.002, 0.004, 0.004]  # first_after, then doubling
    assert service.failures == 0, "a step that succeeds resets the count"
    assert caplog.text.count("flaky work failed; trying again in") == 4
    assert "RuntimeError: failure 4" in caplog.text


class Stuck(Service):
    name = "stuck work"

    def __init__(self) -> None:
        super().__init__(stop_timeout=0.01)
        self.entered = asyncio.Event()
        self.cancelled = False
        self.released = False

    async def step(self) -> None:
        self.entered.set()
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    async def stopped(self) -> None:
        self.released = True


async def test_a_stop_cancels_a_step_that_outlives_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Stuck()
    async with service:
        await asyncio.wait_for(service.entered.wait(), 10)
        assert service.running
    assert service.cancelled and service.released and not service.running
    assert "stuck work did not stop within 0.01 s; cancelled" in caplog.text


class OnlyStarts(Service):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def started(self) -> None:
        self.log.append("started")

    async def stopped(self) -> None:
        self.log.append("stopped")


async def test_a_service_without_steps_only_starts_and_stops() -> None:
    service = OnlyStarts()
    async with service:
        assert not service.running
    assert service.log == ["started", "stopped"]
