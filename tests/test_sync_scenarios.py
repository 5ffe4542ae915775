"""The spec's sync scenarios against simulated locations, over HTTP and WebSocket (strategy: hub_wins).

Customer created at A appears at B; simultaneous edits at two locations are one conflict,
settled by the strategy; an offline location catches up and its queued writes drain once;
a full reconciliation finds deletions and its job can be rolled back (twice, harmlessly);
sync events reach a subscriber for each step.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from live_helpers import customer_known_at, free_slot
from sqlalchemy import select
from sync_helpers import (
    ROLLBACK,
    TRIGGER_SYNC,
    conflicts_of,
    customer_row,
    eventually,
    local_customer_id,
    settle,
    trigger,
)
from ws_helpers import GraphQLSocket

from conftest import RunningGateway
from sources.cache.models import Booking, SyncJob
from sync.conflicts.detect import ConflictPolicy
from sync.types import Strategy

A, B, C = "manchester-central", "stockport-merseyway", "dublin-ranelagh"

SYNC_EVENTS = """
subscription Sync($locationId: ID) {
  syncEvents(locationId: $locationId) { jobId phase entityType pulled applied conflicts }
}
"""

CONFLICT_EVENTS = "subscription { conflictEvents { conflictId phase entityType entityId strategy status } }"

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } outcomes { status code } errors { code message } }
}
"""


def test_customer_created_at_one_location_appears_at_another(live_gateway: RunningGateway) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    live_gateway.store(A).once(
        None,
        lambda: live_gateway.store(A).new_customer(
            {"first_name": "Nia", "last_name": "Okafor", "email": email, "phone": "+44 7700 900111"}
        ),
    )

    job = trigger(live_gateway, A, ["CUSTOMER"])

    assert job["status"] == "COMPLETED" and job["pulledCount"] >= 1 and job["appliedCount"] >= 1
    at_b = eventually(
        lambda: next((c for c in live_gateway.store(B).customers.values() if c.email == email), None),
        what="the customer to reach the other location",
    )
    assert (at_b.first_name, at_b.last_name) == ("Nia", "Okafor")
    settle(live_gateway)
    # Pulling B now finds the customer it was sent: the same network customer, no second record, no conflict.
    trigger(live_gateway, B, ["CUSTOMER"])
    holders = [c for c in live_gateway.store(B).customers.values() if c.email == email]
    assert len(holders) == 1


def test_simultaneous_edits_at_two_locations_are_one_conflict_that_the_hub_wins(
    live_gateway: RunningGateway,
) -> None:
    customer_id = customer_known_at(live_gateway, A, B)
    at_a, at_b = local_customer_id(live_gateway, customer_id, A), local_customer_id(live_gateway, customer_id, B)
    with GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as socket:
        watching = socket.subscribe(CONFLICT_EVENTS)
        live_gateway.store(A).edit_customer(at_a, phone="+44 7700 900001")
        live_gateway.store(B).edit_customer(at_b, phone="+44 7700 900002")

        trigger(live_gateway, A, ["CUSTOMER"])
        trigger(live_gateway, B, ["CUSTOMER"])
        settle(live_gateway)

        conflicts = conflicts_of(live_gateway, customer_id)
        assert len(conflicts) == 1, conflicts
        conflict = conflicts[0]
        assert (conflict.status, conflict.resolution_strategy) == ("resolved", "hub_wins")
        assert {conflict.source_data["fields"]["phone"], conflict.target_data["fields"]["phone"]} == {
            "+44 7700 900001",
            "+44 7700 900002",
        }
        phases = [socket.next(watching)["conflictEvents"] for _ in range(2)]
        assert [(p["phase"], p["entityId"]) for p in phases] == [("DETECTED", customer_id), ("RESOLVED", customer_id)]
    # The network kept what it held (A's edit, pulled first) and every location now has it.
    kept = customer_row(live_gateway, customer_id).phone
    assert kept == conflict.target_data["fields"]["phone"]
    eventually(lambda: live_gateway.store(B).customers[at_b].phone == kept, what="B to get the hub's value")
    assert live_gateway.store(A).customers[at_a].phone == kept


def test_sequential_edits_and_disjoint_fields_are_not_conflicts(live_gateway: RunningGateway) -> None:
    customer_id = customer_known_at(live_gateway, A, B, offset=1)
    at_a, at_b = local_customer_id(live_gateway, customer_id, A), local_customer_id(live_gateway, customer_id, B)
    live_gateway.store(A).edit_customer(at_a, last_name="Sequential")
    trigger(live_gateway, A, ["CUSTOMER"])
    settle(live_gateway)
    eventually(lambda: live_gateway.store(B).customers[at_b].last_name == "Sequential", what="B to follow A")
    trigger(live_gateway, B, ["CUSTOMER"])  # B's version moved by our own write: nothing new

    live_gateway.store(A).edit_customer(at_a, first_name="Disjoint")
    live_gateway.store(B).edit_customer(at_b, phone="+44 7700 900003")
    trigger(live_gateway, A, ["CUSTOMER"])
    trigger(live_gateway, B, ["CUSTOMER"])
    settle(live_gateway)

    assert conflicts_of(live_gateway, customer_id) == []
    row = customer_row(live_gateway, customer_id)
    assert (row.first_name, row.last_name, row.phone) == ("Disjoint", "Sequential", "+44 7700 900003")

    def merged_everywhere() -> bool:
        held = (live_gateway.store(A).customers[at_a], live_gateway.store(B).customers[at_b])
        return all((c.first_name, c.phone) == ("Disjoint", "+44 7700 900003") for c in held)

    eventually(merged_everywhere, what="both locations to hold the merged record")


def test_offline_location_catches_up_and_its_queued_writes_land_once(live_gateway: RunningGateway) -> None:
    simulator, store = live_gateway.simulator(C), live_gateway.store(C)
    slot = free_slot(live_gateway, C, days_ahead=60)
    customer_id = customer_known_at(live_gateway, C, offset=3)
    local_customer = local_customer_id(live_gateway, customer_id, C)
    live_gateway.run(simulator.stop())
    try:
        queued = live_gateway.graphql(
            CREATE_BOOKING,
            {
                "input": {
                    "idempotencyKey": uuid.uuid4().hex,
                    "serviceId": f"Service:{slot.service_id}",
                    "customerId": f"Customer:{customer_id}",
                    "resourceId": f"Resource:{slot.resource_id}",
                    "startAt": slot.start_at.isoformat(),
                }
            },
        )["data"]["createBooking"]
        assert [o["status"] for o in queued["outcomes"]] == ["QUEUED"], queued
        # Meanwhile the site keeps working on its own: a walk-in booking and a customer's new phone number.
        # A slot the site itself offers some ten weeks on (whatever weekday and hour "now" is; some days it is closed).
        later = (datetime.now(UTC) + timedelta(days=70)).replace(hour=0, minute=0, second=0, microsecond=0)
        service = next(iter(store.services.values()))
        _, walk_in_start, walk_in_end = next(
            slot
            for day in (later + timedelta(days=offset) for offset in range(7))
            for slot in store.free_slots(service.local_id, day, day + timedelta(days=1))
        )
        walk_in = store.create_booking(
            key=None,
            local_customer_id=local_customer,
            customer={},
            local_service_id=service.local_id,
            local_resource_id=None,
            start_at=walk_in_start,
            end_at=walk_in_end,
            price_minor=service.price_minor,
            currency=service.currency,
        )
        store.edit_customer(local_customer, phone="+353 1 555 0101")
    finally:
        live_gateway.run(simulator.start())

    booking_key = queued["booking"]["id"].split(":", 1)[1]

    async def recovery_job() -> object:
        async with live_gateway.engine.connect() as connection:
            return (
                await connection.execute(
                    select(SyncJob.status).where(SyncJob.location_id == C, SyncJob.trigger == "recovery")
                )
            ).scalar()

    assert eventually(lambda: live_gateway.run(recovery_job()) == "completed", 20, "the recovery job") == True  # noqa: E712
    settle(live_gateway)

    async def cached(local_id: str) -> object:
        async with live_gateway.engine.connect() as connection:
            return (
                await connection.execute(
                    select(Booking.id).where(Booking.service_location_id == C, Booking.local_booking_id == local_id)
                )
            ).scalar()

    assert live_gateway.run(cached(walk_in.local_id)) is not None
    assert customer_row(live_gateway, customer_id).phone == "+353 1 555 0101"
    delivered = [b for b in store.bookings.values() if b.global_id == booking_key]
    assert len(delivered) == 1


def test_full_reconciliation_finds_deletions_and_rolling_it_back_restores_them_once(
    live_gateway: RunningGateway,
) -> None:
    store = live_gateway.store(A)
    gone = sorted(store.bookings)[0]

    async def cached() -> object:
        async with live_gateway.engine.connect() as connection:
            return (
                await connection.execute(
                    select(Booking.id).where(Booking.service_location_id == A, Booking.local_booking_id == gone)
                )
            ).scalar()

    booking_id = live_gateway.run(cached())
    assert booking_id is not None
    store.delete_booking(gone)

    job = trigger(live_gateway, A, ["BOOKING"], full=True)

    assert job["full"] is True and job["deletedCount"] == 1
    assert live_gateway.run(cached()) is None
    first = live_gateway.graphql(ROLLBACK, {"input": {"id": job["id"]}})["data"]["rollbackSyncJob"]
    assert first["errors"] == [] and first["alreadyRolledBack"] is False and first["restoredCount"] >= 1
    assert first["syncJob"]["status"] == "ROLLED_BACK"
    assert live_gateway.run(cached()) == booking_id
    second = live_gateway.graphql(ROLLBACK, {"input": {"id": job["id"]}})["data"]["rollbackSyncJob"]
    assert second["errors"] == [] and second["alreadyRolledBack"] is True and second["restoredCount"] == 0
    assert live_gateway.run(cached()) == booking_id


def test_rolling_back_a_pulled_customer_change_restores_it_and_tells_the_location(
    live_gateway: RunningGateway,
) -> None:
    customer_id = customer_known_at(live_gateway, B, offset=5)
    at_b = local_customer_id(live_gateway, customer_id, B)
    before = customer_row(live_gateway, customer_id).first_name
    live_gateway.store(B).edit_customer(at_b, first_name="Mistyped")
    job = trigger(live_gateway, B, ["CUSTOMER"])
    assert customer_row(live_gateway, customer_id).first_name == "Mistyped"
    settle(live_gateway)

    result = live_gateway.graphql(ROLLBACK, {"input": {"id": job["id"]}})["data"]["rollbackSyncJob"]

    assert result["errors"] == [] and result["compensationCount"] >= 1
    assert customer_row(live_gateway, customer_id).first_name == before
    eventually(lambda: live_gateway.store(B).customers[at_b].first_name == before, what="B to get its name back")
    settle(live_gateway)
    trigger(live_gateway, B, ["CUSTOMER"])  # the compensation is not pulled back as a new change
    assert customer_row(live_gateway, customer_id).first_name == before
    assert conflicts_of(live_gateway, customer_id) == []


def test_a_subscriber_sees_every_step_of_a_sync_job(live_gateway: RunningGateway) -> None:
    with GraphQLSocket(live_gateway.url, token=live_gateway.admin_token) as socket:
        operation = socket.subscribe(SYNC_EVENTS, {"locationId": f"Location:{B}"})
        other = socket.subscribe(SYNC_EVENTS, {"locationId": f"Location:{A}"})
        job = trigger(live_gateway, B, ["CUSTOMER", "BOOKING"])
        events = [socket.next(operation)["syncEvents"] for _ in range(4)]
        assert [(e["phase"], e["entityType"]) for e in events] == [
            ("STARTED", None),
            ("PROGRESS", "customers"),
            ("PROGRESS", "bookings"),
            ("COMPLETED", None),
        ]
        assert {e["jobId"] for e in events} == {job["id"]}
        try:
            socket.next(other, seconds=0.5)
            raise AssertionError("a subscriber to another location got this job's events")
        except TimeoutError:
            pass


def test_a_second_trigger_while_a_job_runs_is_refused_and_the_job_is_logged(live_gateway: RunningGateway) -> None:
    simulator = live_gateway.simulator(A)
    simulator.controls.latency_seconds = 0.4
    try:
        started = live_gateway.graphql(TRIGGER_SYNC, {"input": {"locationId": f"Location:{A}"}})["data"]
        again = live_gateway.graphql(TRIGGER_SYNC, {"input": {"locationId": f"Location:{A}"}})["data"]
    finally:
        simulator.controls.latency_seconds = 0.0
    assert started["triggerSync"]["errors"] == []
    assert [e["code"] for e in again["triggerSync"]["errors"]] == ["SYNC_IN_PROGRESS"]
    settle(live_gateway)
    job_id = started["triggerSync"]["syncJob"]["networkId"]

    async def job() -> Any:
        async with live_gateway.engine.connect() as connection:
            return (await connection.execute(select(SyncJob).where(SyncJob.id == job_id))).first()

    row = live_gateway.run(job())
    assert row.status == "completed" and row.duration_ms is not None and row.completed_at is not None
    logs = live_gateway.graphql(
        "query($id: ID!) { syncJob(id: $id) { logs { syncType status } } }",
        {"id": started["triggerSync"]["syncJob"]["id"]},
    )["data"]["syncJob"]["logs"]
    assert [log["syncType"] for log in logs] == ["customers", "services", "resources", "bookings", "inventory"]


@pytest.mark.parametrize("strategy", [Strategy.NODE_WINS, Strategy.NEWEST])
def test_node_wins_and_newest_take_the_later_location_edit(live_gateway: RunningGateway, strategy: Strategy) -> None:
    services = live_gateway.app.state.services
    # The rules have one owner: a change of strategy there reaches pulls and live reads alike.
    rule_book = services.sync.rule_book
    assert services.refresher.rule_book is rule_book
    rules = rule_book.current
    rule_book.current = dataclasses.replace(rules, policy=ConflictPolicy(strategy))
    try:
        offset = 6 if strategy is Strategy.NODE_WINS else 7
        customer_id = customer_known_at(live_gateway, A, B, offset=offset)
        at_a, at_b = local_customer_id(live_gateway, customer_id, A), local_customer_id(live_gateway, customer_id, B)
        live_gateway.store(A).edit_customer(at_a, last_name="Earlier")
        live_gateway.store(B).edit_customer(at_b, last_name="Later")
        trigger(live_gateway, A, ["CUSTOMER"])
        trigger(live_gateway, B, ["CUSTOMER"])
        settle(live_gateway)
    finally:
        rule_book.current = rules
    [conflict] = conflicts_of(live_gateway, customer_id)
    assert (conflict.status, conflict.resolution_strategy) == ("resolved", strategy.value)
    assert customer_row(live_gateway, customer_id).last_name == "Later"
    eventually(lambda: live_gateway.store(A).customers[at_a].last_name == "Later", what="A to get B's edit")


CUSTOMER_NOW = "query($id: ID!) { customer(id: $id, maxAge: 0) { id } }"


def test_a_live_read_settles_what_it_brings_in_by_the_rules_the_network_has_now(live_gateway: RunningGateway) -> None:
    rule_book = live_gateway.app.state.services.sync.rule_book
    rules = rule_book.current
    rule_book.current = dataclasses.replace(rules, policy=ConflictPolicy(Strategy.NEWEST))
    try:
        customer_id = customer_known_at(live_gateway, A, B, offset=8)
        at_a, at_b = local_customer_id(live_gateway, customer_id, A), local_customer_id(live_gateway, customer_id, B)
        live_gateway.store(A).edit_customer(at_a, last_name="Earlier")
        live_gateway.store(B).edit_customer(at_b, last_name="Later")
        # Both edits arrive through a read's live refresh, no pull: the rule book's strategy decides them.
        body = live_gateway.graphql(CUSTOMER_NOW, {"id": f"Customer:{customer_id}"})
        assert (body["data"] or {}).get("customer") == {"id": f"Customer:{customer_id}"}, body
        settle(live_gateway)
    finally:
        rule_book.current = rules
    [conflict] = conflicts_of(live_gateway, customer_id)
    assert (conflict.status, conflict.resolution_strategy) == ("resolved", "newest")
    assert customer_row(live_gateway, customer_id).last_name == "Later"
