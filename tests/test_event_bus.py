"""The event bus: bounded queues that never hold a publisher up, and LISTEN/NOTIFY between processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from conftest import POSTGRES_ADMIN_DSN
from observability.metrics import Metrics
from settings import Settings
from subscriptions.bus import Event, InMemoryEventBus, Subscription
from subscriptions.factory import bus_kind
from subscriptions.postgres import NOTIFY_LIMIT_BYTES, PostgresEventBus


def stock(n: int, location: str = "manchester-central") -> Event:
    return Event("stock.changed", {"itemId": f"item-{n}", "locationId": location, "n": n})


async def take(subscription: Subscription, count: int, seconds: float = 2.0) -> list[Event]:
    async def read() -> list[Event]:
        return [await anext(subscription) for _ in range(count)]

    return await asyncio.wait_for(read(), seconds)


@pytest.mark.asyncio
async def test_a_subscriber_gets_the_events_of_its_topics_in_order_and_no_others() -> None:
    bus = InMemoryEventBus()
    async with bus.subscribe(["stock.changed", "location.status"]) as subscription:
        await bus.publish(stock(1))
        await bus.publish(Event("booking.changed", {"bookingId": "b"}))
        await bus.publish(Event("location.status", {"locationId": "x", "status": "offline"}))
        await bus.publish(stock(2))

        events = await take(subscription, 3)

    assert [event.topic for event in events] == ["stock.changed", "location.status", "stock.changed"]
    assert [event.missed for event in events] == [0, 0, 0]
    assert bus.queued_events() == 0


@pytest.mark.asyncio
async def test_a_slow_subscriber_keeps_only_the_newest_events_and_is_told_how_many_it_missed() -> None:
    bus = InMemoryEventBus(queue_size=100)
    slow = bus.subscribe("stock.changed")
    fast = bus.subscribe("stock.changed")
    received: list[Event] = []

    async def keep_up() -> None:
        async for event in fast:
            received.append(event)

    reader = asyncio.create_task(keep_up())
    started = time.perf_counter()
    for n in range(10_000):
        await bus.publish(stock(n))
        if n % 100 == 99:
            await asyncio.sleep(0)  # let the fast subscriber read, as a live loop would
        assert slow.queued <= 100  # the slow one never holds more than its queue
    publishing = time.perf_counter() - started
    await asyncio.sleep(0)

    kept = await take(slow, 100)
    assert [event.payload["n"] for event in kept] == list(range(9_900, 10_000))
    assert kept[0].missed == 9_900
    assert all(event.missed == 0 for event in kept[1:])
    assert [event.payload["n"] for event in received] == list(range(10_000))
    assert all(event.missed == 0 for event in received)
    # Publishing did not wait for the slow reader (that would never end); the bound is generous for a loaded machine.
    assert publishing < 10.0
    reader.cancel()
    slow.close()


@pytest.mark.asyncio
async def test_events_a_slow_subscriber_loses_are_counted_as_dropped_and_those_it_takes_as_sent() -> None:
    metrics = Metrics()
    bus = InMemoryEventBus(queue_size=3, metrics=metrics)
    slow = bus.subscribe(["stock.changed", "location.status"])
    for n in range(10):
        await bus.publish(stock(n))
    bus.note_missed("location.status", 2)  # what never reached this process (the PostgreSQL bus says so)

    kept = await take(slow, 3)

    def counted(name: str, topic: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"topic": topic})

    assert [event.payload["n"] for event in kept] == [7, 8, 9]
    assert counted("gateway_subscription_events_dropped_total", "stock.changed") == 7
    assert counted("gateway_subscription_events_dropped_total", "location.status") == 2
    assert counted("gateway_subscription_events_sent_total", "stock.changed") == 3
    assert bus.subscriber_count() == 1
    slow.close()
    assert bus.subscriber_count() == 0


@pytest.mark.asyncio
async def test_a_subscriber_that_never_reads_does_not_block_the_publisher() -> None:
    bus = InMemoryEventBus(queue_size=10)
    bus.subscribe("stock.changed")  # never read

    async def publish_many() -> None:
        for n in range(50_000):
            await bus.publish(stock(n))

    await asyncio.wait_for(publish_many(), 5)
    assert bus.queued_events() == 10


@pytest.mark.asyncio
async def test_a_filtered_out_event_takes_no_room_and_is_not_counted_as_missed() -> None:
    bus = InMemoryEventBus(queue_size=2)
    subscription = bus.subscribe("stock.changed", accept=lambda e: e.payload["locationId"] == "dublin-ranelagh")
    for n in range(10):
        await bus.publish(stock(n, "manchester-central"))
    await bus.publish(stock(10, "dublin-ranelagh"))

    [event] = await take(subscription, 1)
    assert (event.payload["n"], event.missed) == (10, 0)


@pytest.mark.asyncio
async def test_a_failing_filter_does_not_fail_the_publisher_or_the_other_subscribers() -> None:
    bus = InMemoryEventBus()
    bus.subscribe("stock.changed", accept=lambda e: e.payload["no such field"] == 1)
    healthy = bus.subscribe("stock.changed")

    await bus.publish(stock(1))

    assert [event.payload["n"] for event in await take(healthy, 1)] == [1]


@pytest.mark.asyncio
async def test_a_closed_or_cancelled_subscription_leaves_no_queue_behind() -> None:
    bus = InMemoryEventBus()
    async with bus.subscribe(["stock.changed", "booking.changed"]):
        assert bus.subscriber_count() == 1
        assert bus.subscriber_count("booking.changed") == 1
    assert bus.subscriber_count() == 0

    waiting = bus.subscribe("stock.changed")

    async def read_until_cancelled() -> None:
        async with waiting:
            async for _ in waiting:
                pass

    reader = asyncio.create_task(read_until_cancelled())
    await asyncio.sleep(0.01)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    assert bus.subscriber_count() == 0
    await bus.publish(stock(1))
    assert bus.queued_events() == 0


@pytest.mark.asyncio
async def test_closing_the_bus_ends_every_subscription() -> None:
    bus = InMemoryEventBus()
    subscription = bus.subscribe("stock.changed")
    reader = asyncio.create_task(take(subscription, 1))
    await asyncio.sleep(0.01)

    await bus.aclose()

    with pytest.raises(StopAsyncIteration):
        await reader
    assert bus.subscriber_count() == 0


def test_the_bus_follows_the_database_unless_told_otherwise() -> None:
    postgres = "postgresql+asyncpg://postgres@127.0.0.1:5432/x"
    assert bus_kind(Settings(database_url=postgres)) == "postgres"
    assert bus_kind(Settings(database_url="sqlite+aiosqlite:///x.sqlite3")) == "memory"
    assert bus_kind(Settings(database_url=postgres, event_bus="memory")) == "memory"
    with pytest.raises(ValueError, match="PostgreSQL"):
        bus_kind(Settings(database_url="sqlite+aiosqlite:///x.sqlite3", event_bus="postgres"))


# -- PostgreSQL LISTEN/NOTIFY --------------------------------------------------------------------
@pytest_asyncio.fixture
async def two_processes() -> AsyncIterator[tuple[PostgresEventBus, PostgresEventBus]]:
    """Two buses as two gateway processes would have them, on a channel of their own."""
    channel = f"test_events_{uuid.uuid4().hex[:8]}"
    first = PostgresEventBus(POSTGRES_ADMIN_DSN, channel=channel, reconnect_seconds=0.1, queue_size=50)
    second = PostgresEventBus(POSTGRES_ADMIN_DSN, channel=channel, reconnect_seconds=0.1, queue_size=50)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.asyncio
async def test_an_event_published_in_one_process_reaches_the_others_subscribers_once(
    two_processes: tuple[PostgresEventBus, PostgresEventBus],
) -> None:
    first, second = two_processes
    here = first.subscribe("stock.changed")
    there = second.subscribe("stock.changed")
    event = stock(1)

    await first.publish(event)
    await first.publish(stock(2))

    assert [e.payload["n"] for e in await take(there, 2)] == [1, 2]
    # Locally at once, and not a second time when the notification comes back to its sender.
    assert [e.payload["n"] for e in await take(here, 2)] == [1, 2]
    await asyncio.sleep(0.2)
    assert here.queued == 0
    assert first.received == 0 and second.received == 2
    [received] = await _one_more(first, second, event)
    assert (received.topic, received.payload, received.occurred_at) == (event.topic, event.payload, event.occurred_at)


async def _one_more(first: PostgresEventBus, second: PostgresEventBus, event: Event) -> list[Event]:
    async with second.subscribe(event.topic) as there:
        await first.publish(event)
        return await take(there, 1)


@pytest.mark.asyncio
async def test_an_event_too_big_for_notify_reaches_local_subscribers_and_counts_as_missed_elsewhere(
    two_processes: tuple[PostgresEventBus, PostgresEventBus],
) -> None:
    first, second = two_processes
    here = first.subscribe("sync.job")
    there = second.subscribe("sync.job")
    huge = Event("sync.job", {"jobId": "j", "locationId": "x", "phase": "failed", "error": "e" * NOTIFY_LIMIT_BYTES})

    await first.publish(huge)
    await first.publish(Event("sync.job", {"jobId": "j", "locationId": "x", "phase": "rolled_back"}))

    assert [e.payload["phase"] for e in await take(here, 2)] == ["failed", "rolled_back"]
    [after] = await take(there, 1)
    assert (after.payload["phase"], after.missed) == ("rolled_back", 1)
    assert first.oversized == 1


@pytest.mark.asyncio
async def test_the_bus_listens_again_after_its_connection_is_killed(
    two_processes: tuple[PostgresEventBus, PostgresEventBus],
) -> None:
    first, second = two_processes
    there = second.subscribe("stock.changed")
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            second.application_name,
        )
    finally:
        await admin.close()
    assert killed >= 1

    for _ in range(200):
        if all(bus.reconnects and bus.listening for bus in (first, second)):
            break
        await asyncio.sleep(0.05)
    assert second.reconnects == 1 and second.listening
    await first.publish(stock(7))
    assert [e.payload["n"] for e in await take(there, 1)] == [7]
