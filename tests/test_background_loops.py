"""Background loops stop when asked, even when the cancellation comes out of their pass as another error.

asyncpg cancelled in the middle of a statement leaves SQLAlchemy's rollback to fail with an error of its own;
a loop that logged it and went on had swallowed its only cancellation, and the gateway's shutdown waited for it
for ever (seen as a 30-second stop of a PostgreSQL test gateway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from conftest import POSTGRES_ADMIN_DSN
from subscriptions.postgres import PostgresEventBus
from sync.live.heartbeat import HeartbeatMonitor
from sync.outbox.delivery import OutboxWorker


class DriverError(Exception):
    """What the driver raises in place of the cancellation."""


def _pass_whose_driver_converts_cancellation(
    started: asyncio.Event, error: Exception | None = None
) -> Callable[..., Awaitable[Any]]:
    """A pass that waits until cancelled and turns the first cancellation into `error` (a driver's)."""
    converted = False

    async def one_pass(*_: Any) -> None:
        nonlocal converted
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if converted:
                raise  # once is enough to lose it
            converted = True
            raise error or DriverError(
                "cannot use Connection.transaction() in a manually started transaction"
            ) from None

    return one_pass


def _outbox_worker(one_pass: Callable[[], Awaitable[Any]]) -> Any:
    worker = OutboxWorker(deliverer=None, poll_seconds=0.01)  # type: ignore[arg-type]
    worker.run_once = one_pass  # type: ignore[assignment,method-assign]
    return worker


def _heartbeat(one_pass: Callable[[], Awaitable[Any]]) -> Any:
    monitor = HeartbeatMonitor(None, None, None, interval_seconds=0.01, on_back_online=lambda _: None)  # type: ignore[arg-type]
    monitor.check_all = one_pass  # type: ignore[assignment,method-assign]
    return monitor


@pytest.mark.parametrize("build", [_outbox_worker, _heartbeat], ids=["outbox-worker", "heartbeat"])
def test_a_loop_stops_when_its_pass_turns_the_cancellation_into_another_error(
    build: Callable[[Callable[[], Awaitable[Any]]], Any], caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        started = asyncio.Event()
        loop = build(_pass_whose_driver_converts_cancellation(started))
        loop.start()
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.wait_for(loop.stop(), 5)  # before: a TimeoutError, the loop ran on

    caplog.set_level(logging.ERROR)
    asyncio.run(scenario())
    assert [r for r in caplog.records if "pass failed" in r.getMessage()] == []  # a stop is no failure to log


def test_a_pass_that_fails_on_its_own_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    passes = 0
    third = asyncio.Event()

    async def failing_pass() -> None:
        nonlocal passes
        passes += 1
        if passes == 3:
            third.set()
        raise DriverError("the database is down for a moment")

    async def scenario() -> None:
        worker = _outbox_worker(failing_pass)
        worker.start()
        await asyncio.wait_for(third.wait(), 5)
        await asyncio.wait_for(worker.stop(), 5)

    caplog.set_level(logging.ERROR)
    asyncio.run(scenario())
    failures = [r for r in caplog.records if r.getMessage() == "outbox worker pass failed"]
    assert len(failures) >= 3 and all(r.exc_info and r.exc_info[0] is DriverError for r in failures)


def test_the_postgresql_bus_closes_when_its_listener_turns_the_cancellation_into_a_connection_error() -> None:
    async def scenario() -> None:
        bus = PostgresEventBus(POSTGRES_ADMIN_DSN, channel="gateway_events_stop_test", reconnect_seconds=0.01)
        await bus.start()
        started = asyncio.Event()
        lost = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
        serve = _pass_whose_driver_converts_cancellation(started, lost)
        bus._serve = serve  # type: ignore[assignment,method-assign]
        bus._wake.set()
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.wait_for(bus.aclose(), 5)  # before: a TimeoutError, the listener reconnected and ran on

    asyncio.run(scenario())
