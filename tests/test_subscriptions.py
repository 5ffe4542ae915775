"""Subscriptions over real WebSocket: what a change pushes, to whom, and that nothing stays behind."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from live_helpers import customer_known_at, free_slot
from sqlalchemy import select
from subscriber_helpers import create_booking, subscribers, wait_subscribed
from ws_helpers import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, GraphQLSocket, OperationError

from conftest import RunningGateway
from identity.principal import Principal, Role
from resolvers.context import Context
from schema import build_schema
from settings import Settings
from sources.cache.database import create_engine
from sources.cache.models import StockLevel
from subscriptions.bus import Event, InMemoryEventBus
from subscriptions.visibility import visible_to

BOOKING_EVENTS = """
subscription Bookings($location: ID) {
  bookingEvents(locationId: $location) {
    bookingId change status serviceLocationId originatingLocationId missedEvents occurredAt
    booking { id status }
  }
}
"""

STOCK_EVENTS = """
subscription Stock($low: Boolean!, $location: ID) {
  stockEvents(lowStockOnly: $low, locationId: $location) {
    itemId locationId quantity reserved available low missedEvents
    item { sku }
  }
}
"""

LOCATION_STATUS_EVENTS = """
subscription Status($location: ID) {
  locationStatusEvents(locationId: $location) { locationId previous status missedEvents location { name } }
}
"""

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id }
    outcomes { status }
    errors { code message }
  }
}
"""

CANCEL_BOOKING = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { status } errors { code } }
}
"""

BOOKING_STATUS = "query One($id: ID!) { booking(id: $id) { status } }"

ADJUST_STOCK = """
mutation Adjust($input: AdjustStockInput!) {
  adjustStock(input: $input) { outcomes { status } errors { code message } }
}
"""

SYNC_EVENTS = """
subscription Sync($location: ID) {
  syncEvents(locationId: $location) { jobId locationId phase entityType pulled applied conflicts errors missedEvents }
}
"""

TRIGGER_SYNC = """
mutation Trigger($input: TriggerSyncInput!) {
  triggerSync(input: $input) { syncJob { id } errors { code message } }
}
"""

HOME = "manchester-central"
ELSEWHERE = "dublin-ranelagh"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_booking_reaches_its_locations_subscriber_and_not_another_locations(
    live_gateway: RunningGateway, protocol: str
) -> None:
    before = subscribers(live_gateway, "booking.changed")
    with (
        GraphQLSocket(live_gateway.url, protocol, token=live_gateway.admin_token) as home,
        GraphQLSocket(live_gateway.url, protocol, token=live_gateway.admin_token) as elsewhere,
    ):
        at_home = home.subscribe(BOOKING_EVENTS, {"location": f"Location:{HOME}"})
        away = elsewhere.subscribe(BOOKING_EVENTS, {"location": f"Location:{ELSEWHERE}"})
        wait_subscribed(live_gateway, "booking.changed", before + 2)

        # Latency is the benchmark's to measure (bench/subscriptions.py); here, a generous bound on a loaded machine.
        booking_id = create_booking(live_gateway, HOME)
        event = home.next(at_home, seconds=10.0)["bookingEvents"]

        assert event["bookingId"] == booking_id
        assert event["change"] == "CREATED"
        assert event["status"] == "CONFIRMED"
        assert event["serviceLocationId"] == f"Location:{HOME}"
        assert event["missedEvents"] == 0
        assert event["booking"] == {"id": booking_id, "status": "CONFIRMED"}
        # The other location's subscriber: its first event is its own location's booking, not the one above.
        own_booking = create_booking(live_gateway, ELSEWHERE)
        assert elsewhere.next(away, seconds=10.0)["bookingEvents"]["bookingId"] == own_booking


def cancel(gateway: RunningGateway, booking_id: str) -> None:
    variables = {"input": {"idempotencyKey": uuid.uuid4().hex, "bookingId": booking_id, "reason": "test"}}
    assert gateway.graphql(CANCEL_BOOKING, variables)["data"]["cancelBooking"]["errors"] == []


def test_each_event_of_a_subscription_reads_the_cache_as_it_is_then(live_gateway: RunningGateway) -> None:
    with GraphQLSocket(live_gateway.url, TRANSPORT_WS, token=live_gateway.admin_token) as socket:
        before = subscribers(live_gateway, "booking.changed")
        events = socket.subscribe(BOOKING_EVENTS, {"location": f"Location:{HOME}"})
        wait_subscribed(live_gateway, "booking.changed", before + 1)
        booking_id = create_booking(live_gateway, HOME)
        assert socket.next(events)["bookingEvents"]["booking"]["status"] == "CONFIRMED"

        cancel(live_gateway, booking_id)

        cancelled = socket.next(events)["bookingEvents"]
        assert (cancelled["change"], cancelled["booking"]["status"]) == ("CANCELLED", "CANCELLED")


def test_operations_on_one_connection_do_not_share_what_they_loaded(live_gateway: RunningGateway) -> None:
    booking_id = create_booking(live_gateway, HOME)
    with GraphQLSocket(live_gateway.url, TRANSPORT_WS, token=live_gateway.admin_token) as socket:
        assert socket.query(BOOKING_STATUS, {"id": booking_id})["booking"]["status"] == "CONFIRMED"

        cancel(live_gateway, booking_id)

        assert socket.query(BOOKING_STATUS, {"id": booking_id})["booking"]["status"] == "CANCELLED"


def well_stocked_level(gateway: RunningGateway, location_id: str) -> Any:
    """A level with at least 5 units free above its reorder point."""

    async def find() -> Any:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(StockLevel)
                .where(
                    StockLevel.location_id == location_id,
                    StockLevel.quantity - StockLevel.reserved >= StockLevel.reorder_point + 5,
                )
                .order_by(StockLevel.item_id)
            )
            return rows.first()

    level = gateway.run(find())
    assert level is not None, f"no well-stocked item at {location_id}"
    return level


def adjust(gateway: RunningGateway, item_id: str, location_id: str, delta: int, reason: str) -> None:
    variables = {
        "input": {
            "idempotencyKey": uuid.uuid4().hex,
            "itemId": f"StockItem:{item_id}",
            "locationId": f"Location:{location_id}",
            "delta": delta,
            "reason": reason,
        }
    }
    result = gateway.graphql(ADJUST_STOCK, variables)["data"]["adjustStock"]
    assert result == {"outcomes": [{"status": "DELIVERED"}], "errors": []}, result


def test_low_stock_subscribers_hear_only_changes_that_leave_the_level_low(live_gateway: RunningGateway) -> None:
    level = well_stocked_level(live_gateway, HOME)
    free_above_reorder = level.quantity - level.reserved - level.reorder_point
    location = f"Location:{HOME}"
    before = subscribers(live_gateway, "stock.changed")
    with GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as socket:
        low_only = socket.subscribe(STOCK_EVENTS, {"low": True, "location": location})
        every = socket.subscribe(STOCK_EVENTS, {"low": False, "location": location})
        wait_subscribed(live_gateway, "stock.changed", before + 2)

        adjust(live_gateway, level.item_id, HOME, 1, "restock")
        restocked = socket.next(every)["stockEvents"]
        assert (restocked["quantity"], restocked["low"]) == (level.quantity + 1, False)

        adjust(live_gateway, level.item_id, HOME, -(free_above_reorder + 1), "sale")
        sold = socket.next(every)["stockEvents"]
        low = socket.next(low_only, seconds=10.0)["stockEvents"]
        assert low == sold
        assert low["low"] is True
        assert low["available"] == level.reorder_point
        assert low["itemId"] == f"StockItem:{level.item_id}"

        adjust(live_gateway, level.item_id, HOME, free_above_reorder, "restock")
        assert socket.next(every)["stockEvents"]["low"] is False
        with pytest.raises(TimeoutError):
            socket.next(low_only, seconds=0.5)


def test_a_location_that_stops_answering_is_pushed_offline_then_online(live_gateway: RunningGateway) -> None:
    location = "stockport-merseyway"
    simulator = live_gateway.simulator(location)
    before = subscribers(live_gateway, "location.status")
    with GraphQLSocket(live_gateway.url, LEGACY_WS, token=live_gateway.admin_token) as socket:
        status = socket.subscribe(LOCATION_STATUS_EVENTS, {"location": f"Location:{location}"})
        wait_subscribed(live_gateway, "location.status", before + 1)
        live_gateway.run(simulator.stop())
        try:
            offline = socket.next(status, seconds=10)["locationStatusEvents"]
        finally:
            live_gateway.run(simulator.start())
        online = socket.next(status, seconds=10)["locationStatusEvents"]

    assert offline["locationId"] == f"Location:{location}"
    assert offline["location"]["name"] == "Stockport Merseyway"
    assert (offline["previous"], offline["status"]) in (("ONLINE", "OFFLINE"), ("DEGRADED", "OFFLINE"))
    assert (online["previous"], online["status"]) == ("OFFLINE", "ONLINE")


def test_a_sync_job_pushes_each_of_its_steps_to_subscribers_of_its_location(live_gateway: RunningGateway) -> None:
    before = subscribers(live_gateway, "sync.job")
    with GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as socket:
        steps = socket.subscribe(SYNC_EVENTS, {"location": f"Location:{HOME}"})
        wait_subscribed(live_gateway, "sync.job", before + 1)
        trigger = {"input": {"locationId": f"Location:{HOME}", "entityTypes": ["CUSTOMER", "BOOKING"], "wait": True}}
        raw = live_gateway.graphql(TRIGGER_SYNC, trigger)
        assert raw.get("data"), raw
        answer = raw["data"]["triggerSync"]
        assert answer["errors"] == [], answer
        job_id = answer["syncJob"]["id"]
        events: list[dict[str, Any]] = []
        while not events or events[-1]["phase"] not in ("COMPLETED", "FAILED"):
            event = socket.next(steps, seconds=5)["syncEvents"]
            if event["jobId"] == job_id:  # the scheduler may sync the location too
                events.append(event)

    assert [event["phase"] for event in events] == ["STARTED", "PROGRESS", "PROGRESS", "COMPLETED"]
    assert [event["entityType"] for event in events] == [None, "customers", "bookings", None]
    assert {event["locationId"] for event in events} == {f"Location:{HOME}"}
    assert events[-1]["errors"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stopped_subscription_and_a_closed_socket_leave_nothing_on_the_bus(
    live_gateway: RunningGateway, protocol: str
) -> None:
    before = subscribers(live_gateway, "booking.changed"), subscribers(live_gateway, "stock.changed")
    socket = GraphQLSocket(live_gateway.url, protocol, token=live_gateway.admin_token)
    bookings = socket.subscribe(BOOKING_EVENTS)
    socket.subscribe(STOCK_EVENTS, {"low": False})
    wait_subscribed(live_gateway, "booking.changed", before[0] + 1)
    wait_subscribed(live_gateway, "stock.changed", before[1] + 1)

    socket.stop(bookings)
    wait_subscribed(live_gateway, "booking.changed", before[0])
    assert subscribers(live_gateway, "stock.changed") == before[1] + 1
    socket.close()
    wait_subscribed(live_gateway, "stock.changed", before[1])


def test_a_subscription_with_a_wrong_kind_of_id_is_refused_with_its_code(live_gateway: RunningGateway) -> None:
    before = subscribers(live_gateway, "booking.changed")
    with GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as socket:
        refused = socket.subscribe(BOOKING_EVENTS, {"location": "Booking:bkg_1"})
        with pytest.raises(OperationError) as error:
            socket.next(refused)
    assert error.value.codes == ["INVALID_ID"]
    assert subscribers(live_gateway, "booking.changed") == before


# -- who may see what ---------------------------------------------------------------------------
ADMIN = Principal("admin", Role.NETWORK_ADMIN)
MANCHESTER_MANAGER = Principal("m", Role.LOCATION_MANAGER, frozenset({"manchester-central"}))


def booking_event(service: str, originating: str, booking_id: str = "b") -> Event:
    payload = {"bookingId": booking_id, "change": "created", "status": "confirmed"}
    return Event("booking.changed", {**payload, "serviceLocationId": service, "originatingLocationId": originating})


def test_a_network_admin_sees_every_event_and_others_only_those_about_their_locations() -> None:
    served_here = booking_event("manchester-central", "manchester-central")
    booked_here = booking_event("dublin-ranelagh", "manchester-central")
    elsewhere = booking_event("dublin-ranelagh", "leeds-headingley")
    conflict_with = Event(
        "conflict",
        {"conflictId": "c", "sourceLocationId": "leeds-headingley", "targetLocationId": "manchester-central"},
    )
    status_elsewhere = Event("location.status", {"locationId": "leeds-headingley", "status": "offline"})
    no_location = Event("sync.job", {"jobId": "j"})

    every_location = None
    manchester = frozenset({"manchester-central"})
    for event in (served_here, booked_here, elsewhere, conflict_with, status_elsewhere, no_location):
        assert visible_to(every_location, event)
    assert visible_to(manchester, served_here)
    assert visible_to(manchester, booked_here)
    assert visible_to(manchester, conflict_with)
    assert not visible_to(manchester, elsewhere)
    assert not visible_to(manchester, status_elsewhere)
    assert not visible_to(manchester, no_location)
    assert not visible_to(frozenset(), served_here)


async def _events_seen_by(principal: Principal, tmp_path: Path) -> list[str]:
    bus = InMemoryEventBus()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    context = Context(engine=engine, settings=Settings(), bus=bus, request_id="t", principal=principal)
    stream = await build_schema().subscribe("subscription { bookingEvents { bookingId } }", context_value=context)
    try:
        first = asyncio.ensure_future(anext(stream))
        for _ in range(500):  # the stream subscribes once it starts running
            if bus.subscriber_count():
                break
            await asyncio.sleep(0.01)
        for event in (
            booking_event("dublin-ranelagh", "leeds-headingley", "b1"),
            booking_event("dublin-ranelagh", "manchester-central", "b2"),
            booking_event("leeds-headingley", "leeds-headingley", "b3"),
            booking_event("manchester-central", "manchester-central", "b4"),
        ):
            await bus.publish(event)
        results = [await first]
        while bus.queued_events():
            results.append(await anext(stream))
        return [result.data["bookingEvents"]["bookingId"] for result in results]  # type: ignore[index]
    finally:
        await stream.aclose()
        await engine.dispose()


@pytest.mark.asyncio
async def test_a_subscription_streams_only_what_its_caller_may_see(tmp_path: Path) -> None:
    assert await _events_seen_by(MANCHESTER_MANAGER, tmp_path) == ["Booking:b2", "Booking:b4"]
    assert await _events_seen_by(ADMIN, tmp_path) == ["Booking:b1", "Booking:b2", "Booking:b3", "Booking:b4"]


BOOKING_EVENTS_WITH_CUSTOMER = """
subscription { bookingEvents { bookingId booking { customer { firstName email } } } }
"""


def test_customers_and_staff_hear_only_their_own_bookings_and_staff_get_no_contact_data(
    live_gateway: RunningGateway,
) -> None:
    slot = free_slot(live_gateway, HOME)
    customer = customer_known_at(live_gateway, HOME)
    authenticator = live_gateway.app.state.authenticator
    tokens = {
        name: live_gateway.run(authenticator.issue(role, subject=name, **claims))
        for name, role, claims in (
            ("customer", Role.CUSTOMER, {"customer_id": customer}),
            ("someone else", Role.CUSTOMER, {"customer_id": "cus_nobody"}),
            ("staff", Role.SHARED_STAFF, {"locations": [HOME], "resource_id": slot.resource_id}),
        )
    }
    before = subscribers(live_gateway, "booking.changed")
    with (
        GraphQLSocket(live_gateway.url, token=tokens["customer"]) as own,
        GraphQLSocket(live_gateway.url, token=tokens["someone else"]) as other,
        GraphQLSocket(live_gateway.url, token=tokens["staff"]) as staff,
    ):
        operations = {socket: socket.subscribe(BOOKING_EVENTS_WITH_CUSTOMER) for socket in (own, other, staff)}
        wait_subscribed(live_gateway, "booking.changed", before + 3)
        variables = {
            "input": {
                "idempotencyKey": uuid.uuid4().hex,
                "serviceId": f"Service:{slot.service_id}",
                "startAt": slot.start_at.isoformat(),
                "resourceId": f"Resource:{slot.resource_id}",
                "customerId": f"Customer:{customer}",
            }
        }
        created = live_gateway.graphql(CREATE_BOOKING, variables)["data"]["createBooking"]
        assert created["errors"] == [], created
        booking_id = created["booking"]["id"]

        heard = own.next(operations[own], seconds=10.0)["bookingEvents"]
        assert heard["bookingId"] == booking_id and heard["booking"]["customer"]["email"]
        # The staff member serving it hears it too, with the customer's name and no contact data.
        with pytest.raises(OperationError) as refused:
            staff.next(operations[staff], seconds=10.0)
        assert refused.value.codes == ["FORBIDDEN"]
        assert refused.value.errors[0]["path"][-1] == "email"
        with pytest.raises(TimeoutError):  # someone else's booking: nothing at all
            other.next(operations[other], seconds=1.0)
