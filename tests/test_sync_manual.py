"""Conflicts left for a person (strategy: manual): both sides kept, nothing applied, then resolveConflict.

Also: two locations confirming overlapping bookings of one shared staff member, and the
scheduler starting jobs at each location's frequency.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from live_helpers import customer_known_at
from sqlalchemy import select, update
from sync_helpers import RESOLVE, conflicts_of, customer_row, eventually, local_customer_id, settle, trigger
from ws_helpers import GraphQLSocket

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoreError
from settings import Settings
from sources.cache.models import Booking, Location, Resource, ResourceShare, SyncJob
from sync.pull.scheduler import SyncScheduler

A, B = "manchester-central", "stockport-merseyway"
BOOKINGX = ("manchester-central", "stockport-merseyway", "dublin-ranelagh")
CONFLICT_EVENTS = "subscription { conflictEvents { conflictId phase entityId status strategy } }"


@pytest.fixture(scope="module")
def manual_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    settings = Settings(database_url=own_database_url, demo_network=True, conflict_strategy="manual", **LIVE_SETTINGS)
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def test_manual_conflict_keeps_both_sides_until_a_person_picks_one(manual_gateway: RunningGateway) -> None:
    gateway = manual_gateway
    customer_id = customer_known_at(gateway, A, B, offset=2)
    at_a, at_b = local_customer_id(gateway, customer_id, A), local_customer_id(gateway, customer_id, B)
    with GraphQLSocket(gateway.url, token=gateway.admin_token) as socket:
        watching = socket.subscribe(CONFLICT_EVENTS)
        gateway.store(A).edit_customer(at_a, email="from-a@example.com")
        gateway.store(B).edit_customer(at_b, email="from-b@example.com")
        trigger(gateway, A, ["CUSTOMER"])
        trigger(gateway, B, ["CUSTOMER"])
        settle(gateway)

        [conflict] = conflicts_of(gateway, customer_id)
        assert (conflict.status, conflict.resolution_strategy) == ("pending", "manual")
        assert conflict.source_location_id == B and conflict.target_location_id == A
        assert conflict.source_data["fields"]["email"] == "from-b@example.com"
        assert conflict.target_data["fields"]["email"] == "from-a@example.com"
        # Nothing was decided: each location keeps its own value, the network keeps the first one it saw.
        assert gateway.store(B).customers[at_b].email == "from-b@example.com"
        assert customer_row(gateway, customer_id).email == "from-a@example.com"
        detected = socket.next(watching)["conflictEvents"]
        assert (detected["phase"], detected["status"]) == ("DETECTED", "pending")

        answer = gateway.graphql(RESOLVE, {"input": {"id": f"Conflict:{conflict.id}", "choice": "SOURCE"}})
        result = answer["data"]["resolveConflict"]
        assert result["errors"] == [] and result["conflict"]["status"] == "RESOLVED"
        resolved = socket.next(watching)["conflictEvents"]
        assert (resolved["phase"], resolved["conflictId"].split(":")[-1]) == ("RESOLVED", conflict.id)

    assert customer_row(gateway, customer_id).email == "from-b@example.com"
    eventually(lambda: gateway.store(A).customers[at_a].email == "from-b@example.com", what="A to get B's value")
    again = gateway.graphql(RESOLVE, {"input": {"id": f"Conflict:{conflict.id}", "choice": "TARGET"}})
    assert [e["code"] for e in again["data"]["resolveConflict"]["errors"]] == ["CONFLICT"]
    assert customer_row(gateway, customer_id).email == "from-b@example.com"


def test_merged_resolution_applies_the_given_values_everywhere(manual_gateway: RunningGateway) -> None:
    gateway = manual_gateway
    customer_id = customer_known_at(gateway, A, B, offset=4)
    at_a, at_b = local_customer_id(gateway, customer_id, A), local_customer_id(gateway, customer_id, B)
    gateway.store(A).edit_customer(at_a, phone="+44 7700 900100")
    gateway.store(B).edit_customer(at_b, phone="+44 7700 900200")
    trigger(gateway, A, ["CUSTOMER"])
    trigger(gateway, B, ["CUSTOMER"])
    settle(gateway)
    [conflict] = conflicts_of(gateway, customer_id)

    bad = gateway.graphql(RESOLVE, {"input": {"id": f"Conflict:{conflict.id}", "mergedData": {"shoe_size": 9}}})
    assert [e["code"] for e in bad["data"]["resolveConflict"]["errors"]] == ["INVALID_INPUT"]
    assert conflicts_of(gateway, customer_id)[0].status == "pending"

    merged = {"phone": "+44 7700 900300"}
    ok = gateway.graphql(RESOLVE, {"input": {"id": f"Conflict:{conflict.id}", "mergedData": merged}})
    assert ok["data"]["resolveConflict"]["errors"] == []
    assert customer_row(gateway, customer_id).phone == "+44 7700 900300"
    eventually(
        lambda: gateway.store(A).customers[at_a].phone == gateway.store(B).customers[at_b].phone == "+44 7700 900300",
        what="both locations to get the merged value",
    )


def _shared_staff(gateway: RunningGateway) -> tuple[str, str, str, str]:
    """(resource id, its local id at the owner, owner, borrower) for staff lent between two BookingX sites."""

    async def find() -> Any:
        async with gateway.engine.connect() as connection:
            return (
                await connection.execute(
                    select(Resource.id, Resource.local_resource_id, Resource.location_id, ResourceShare.location_id)
                    .join(ResourceShare, ResourceShare.resource_id == Resource.id)
                    .where(Resource.location_id.in_(BOOKINGX), ResourceShare.location_id.in_(BOOKINGX))
                    .order_by(Resource.id)
                )
            ).first()

    row = gateway.run(find())
    assert row is not None, "the demo network lends staff between BookingX sites"
    return row[0], row[1], row[2], row[3]


def _book_directly(store: LocationStore, resource: str, start: datetime) -> str:
    service = next(iter(store.services.values()))
    booking = store.create_booking(
        key=None,
        local_customer_id=next(iter(store.customers)),
        customer={},
        local_service_id=service.local_id,
        local_resource_id=resource,
        start_at=start,
        end_at=start + timedelta(minutes=45),
        price_minor=service.price_minor,
        currency=service.currency,
    )
    return booking.local_id


def test_two_locations_booking_one_shared_staff_member_at_once_is_a_double_booking(
    manual_gateway: RunningGateway,
) -> None:
    gateway = manual_gateway
    resource_id, owner_local, owner, borrower = _shared_staff(gateway)
    day = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0) + timedelta(days=120)
    for offset in range(14):
        start = day + timedelta(days=offset)
        try:
            at_owner = _book_directly(gateway.store(owner), owner_local, start)
        except StoreError:
            continue
        try:
            at_borrower = _book_directly(gateway.store(borrower), resource_id, start + timedelta(minutes=15))
            break
        except StoreError:
            gateway.store(owner).delete_booking(at_owner)
    else:
        raise AssertionError("no day both sites are open")

    trigger(gateway, owner, ["BOOKING"])
    trigger(gateway, borrower, ["BOOKING"])
    settle(gateway)

    async def booking(location_id: str, local_id: str) -> Any:
        async with gateway.engine.connect() as connection:
            return (
                await connection.execute(
                    select(Booking).where(
                        Booking.service_location_id == location_id, Booking.local_booking_id == local_id
                    )
                )
            ).first()

    incoming = gateway.run(booking(borrower, at_borrower))
    held = gateway.run(booking(owner, at_owner))
    [conflict] = conflicts_of(gateway, incoming.id)
    assert (conflict.conflict_type, conflict.status) == ("double_booking", "pending")
    assert conflict.target_data["booking_id"] == held.id

    answer = gateway.graphql(RESOLVE, {"input": {"id": f"Conflict:{conflict.id}", "choice": "TARGET"}})
    assert answer["data"]["resolveConflict"]["errors"] == []
    assert gateway.run(booking(borrower, at_borrower)).status == "cancelled"
    assert gateway.run(booking(owner, at_owner)).status == "confirmed"
    eventually(
        lambda: gateway.store(borrower).bookings[at_borrower].status == "cancelled",
        what="the losing booking to be cancelled at its location",
    )


def test_scheduler_pulls_each_location_at_its_frequency(manual_gateway: RunningGateway) -> None:
    gateway = manual_gateway
    engine = gateway.app.state.services.sync

    async def set_hourly(location_id: str) -> None:
        async with gateway.engine.begin() as connection:
            await connection.execute(
                update(Location).where(Location.id == location_id).values(sync_settings={"sync_frequency": "hourly"})
            )

    gateway.run(set_hourly("leeds-headingley"))
    began = datetime.now(UTC)
    scheduler = SyncScheduler(engine, default_frequency="realtime", realtime_seconds=0.0, full_every=timedelta(days=1))
    due = dict(gateway.run(scheduler.due(datetime.now(UTC))))
    # Every location that can be asked for changes is due; a site that pushes its changes to us is not.
    assert "salford-quays" not in due
    assert set(due) >= {"manchester-central", "stockport-merseyway", "dublin-ranelagh"}
    gateway.run(scheduler.run_due())
    settle(gateway)

    async def scheduled() -> set[str]:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(SyncJob.location_id).where(SyncJob.trigger == "scheduled", SyncJob.started_at >= began)
            )
            return {row[0] for row in rows}

    assert gateway.run(scheduled()) == set(due)
    later = dict(gateway.run(scheduler.due(datetime.now(UTC))))
    slow = SyncScheduler(engine, default_frequency="hourly", realtime_seconds=0.0, full_every=timedelta(days=1))
    assert dict(gateway.run(slow.due(datetime.now(UTC)))) == {}
    assert set(later) == set(due) - {"leeds-headingley"}  # realtime (0 s) ones are due again; the hourly one not
