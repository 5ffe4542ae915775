"""Subscriptions shared by subscribers that would get the same answers: one execution per event, per scope."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import WebSocketRoute
from subscriber_helpers import create_booking, manager_token, subscribers, wait_subscribed
from ws_helpers import PROTOCOLS, GraphQLSocket

from conftest import RunningGateway
from identity.principal import Principal, Role
from resolvers.context import Context
from schema import GatewaySchema, build_schema
from settings import Settings
from sources.cache.database import create_engine
from subscriptions.bus import Event, InMemoryEventBus

TOPIC = "booking.changed"
MANCHESTER = "manchester-central"
ELSEWHERE = "dublin-ranelagh"
BOOKING_EVENTS = """
subscription Bookings($location: ID) {
  bookingEvents(locationId: $location) { bookingId serviceLocationId missedEvents booking { id status } }
}
"""
BOOKING_IDS = "subscription { bookingEvents { bookingId missedEvents } }"


def shared_subscriptions(gateway: RunningGateway) -> Any:
    """The gateway's registry of shared subscriptions (its `executions` count events executed)."""
    for route in gateway.app.routes:
        if isinstance(route, WebSocketRoute) and route.path == "/graphql":
            schema: GatewaySchema = route.app.schema  # type: ignore[attr-defined]
            return schema.shared_subscriptions
    raise AssertionError("no GraphQL WebSocket route")


def test_subscribers_of_one_document_in_one_scope_cause_one_execution_per_event(live_gateway: RunningGateway) -> None:
    registry = shared_subscriptions(live_gateway)
    before = subscribers(live_gateway, TOPIC)
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(GraphQLSocket(live_gateway.url, protocol, token=live_gateway.admin_token))
            for protocol in (*PROTOCOLS, *PROTOCOLS)
        ]
        operations = [socket.subscribe(BOOKING_EVENTS, {"location": f"Location:{MANCHESTER}"}) for socket in sockets]
        wait_subscribed(live_gateway, TOPIC, before + len(sockets))
        executed = registry.executions

        booking_id = create_booking(live_gateway, MANCHESTER)
        heard = [socket.next(operation, seconds=10.0) for socket, operation in zip(sockets, operations, strict=True)]

        assert registry.executions == executed + 1
        booking = {"id": booking_id, "status": "CONFIRMED"}
        expected = {"bookingId": booking_id, "serviceLocationId": f"Location:{MANCHESTER}", "missedEvents": 0}
        expected |= {"booking": booking}
        assert heard == [{"bookingEvents": expected}] * len(sockets)
    # Every subscriber left: the shared operation and its bus subscription are gone.
    wait_subscribed(live_gateway, TOPIC, before)


def test_subscribers_in_different_scopes_get_their_own_answers(live_gateway: RunningGateway) -> None:
    registry = shared_subscriptions(live_gateway)
    before = subscribers(live_gateway, TOPIC)
    manager = manager_token(live_gateway, MANCHESTER)
    with (
        GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as admin,
        GraphQLSocket(live_gateway.url, token=manager) as first_manager,
        GraphQLSocket(live_gateway.url, token=manager) as second_manager,
    ):
        admin_operation = admin.subscribe(BOOKING_EVENTS)
        manager_operations = [first_manager.subscribe(BOOKING_EVENTS), second_manager.subscribe(BOOKING_EVENTS)]
        wait_subscribed(live_gateway, TOPIC, before + 3)
        executed = registry.executions

        dublin_booking = create_booking(live_gateway, ELSEWHERE)
        assert admin.next(admin_operation, seconds=10.0)["bookingEvents"]["bookingId"] == dublin_booking
        manchester_booking = create_booking(live_gateway, MANCHESTER)
        assert admin.next(admin_operation, seconds=10.0)["bookingEvents"]["bookingId"] == manchester_booking

        # The managers' first event is Manchester's: the Dublin booking never reached them.
        for socket, operation in zip((first_manager, second_manager), manager_operations, strict=True):
            assert socket.next(operation, seconds=10.0)["bookingEvents"]["bookingId"] == manchester_booking
        # The admin's answers (2 events) and the managers' one answer (shared by both, for 1 event).
        assert registry.executions == executed + 3
    wait_subscribed(live_gateway, TOPIC, before)


def test_different_variables_or_documents_are_not_shared(live_gateway: RunningGateway) -> None:
    registry = shared_subscriptions(live_gateway)
    before, operations = subscribers(live_gateway, TOPIC), registry.operations
    with (
        GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as home,
        GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as away,
        GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as other_document,
    ):
        at_home = home.subscribe(BOOKING_EVENTS, {"location": f"Location:{MANCHESTER}"})
        elsewhere = away.subscribe(BOOKING_EVENTS, {"location": f"Location:{ELSEWHERE}"})
        ids_only = other_document.subscribe(BOOKING_IDS)
        wait_subscribed(live_gateway, TOPIC, before + 3)
        assert registry.operations == operations + 3

        own_booking = create_booking(live_gateway, ELSEWHERE)
        assert away.next(elsewhere, seconds=10.0)["bookingEvents"]["bookingId"] == own_booking
        assert other_document.next(ids_only, seconds=10.0) == {
            "bookingEvents": {"bookingId": own_booking, "missedEvents": 0}
        }
        home_booking = create_booking(live_gateway, MANCHESTER)
        assert home.next(at_home, seconds=10.0)["bookingEvents"]["bookingId"] == home_booking
    wait_subscribed(live_gateway, TOPIC, before)
    assert registry.operations == operations


def booking_event(booking_id: str) -> Event:
    payload = {"bookingId": booking_id, "serviceLocationId": MANCHESTER, "change": "created", "status": "confirmed"}
    return Event(TOPIC, payload)


@pytest.mark.asyncio
async def test_a_slow_subscriber_alone_misses_events_and_is_told_how_many(tmp_path: Path) -> None:
    # Given two subscribers sharing one operation, each with room for two events
    bus = InMemoryEventBus(queue_size=2)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    settings = Settings(subscriber_queue_size=2)
    admin = Principal("admin", Role.NETWORK_ADMIN)
    schema = build_schema()
    contexts = [Context(engine=engine, settings=settings, bus=bus, request_id=r, principal=admin) for r in "ab"]
    fast = await schema.subscribe(BOOKING_IDS, context_value=contexts[0])
    slow = await schema.subscribe(BOOKING_IDS, context_value=contexts[1])
    try:
        assert bus.subscriber_count() == 2
        assert schema.shared_subscriptions.operations == 1  # type: ignore[attr-defined]
        # When five events come and only one subscriber reads each as it comes
        fast_heard = []
        for number in range(5):
            await bus.publish(booking_event(f"b{number}"))
            fast_heard.append(await asyncio.wait_for(anext(fast), 5))
        slow_heard = [await asyncio.wait_for(anext(slow), 5) for _ in range(2)]

        # Then the fast one lost nothing and was told nothing; the slow one kept the last two, told it lost three
        assert [r.data for r in fast_heard] == [
            {"bookingEvents": {"bookingId": f"Booking:b{n}", "missedEvents": 0}} for n in range(5)
        ]
        assert [r.data for r in slow_heard] == [
            {"bookingEvents": {"bookingId": "Booking:b3", "missedEvents": 3}},
            {"bookingEvents": {"bookingId": "Booking:b4", "missedEvents": 0}},
        ]
        # One execution per event, and one more for the event the slow one was answered alone.
        assert schema.shared_subscriptions.executions == 6  # type: ignore[attr-defined]
    finally:
        await fast.aclose()
        await slow.aclose()
        await engine.dispose()
    assert bus.subscriber_count() == 0
    assert schema.shared_subscriptions.operations == 0  # type: ignore[attr-defined]
