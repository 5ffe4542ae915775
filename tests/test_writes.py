"""Writes through the public API land at the owning location, in the cache, and nowhere twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from live_helpers import cache_counts, cache_row, customer_known_at, free_slot, key, wait_for
from sqlalchemy import insert, select, update

from conftest import RunningGateway
from sources.cache.models import Booking, OutboxMessage, RevenueEntry, Service

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id status startAt serviceLocation { id } originatingLocation { id } }
    outcomes { locationId status code reason outboxMessageId }
    errors { code message field }
  }
}
"""

CANCEL_BOOKING = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { id status }
    outcomes { locationId status code }
    errors { code message }
  }
}
"""

RESCHEDULE_BOOKING = """
mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) {
    booking { id startAt }
    outcomes { locationId status code }
    errors { code message }
  }
}
"""

UPDATE_CUSTOMER = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id email }
    outcomes { locationId status code }
    errors { code message field }
  }
}
"""

ADJUST_STOCK = """
mutation Adjust($input: AdjustStockInput!) {
  adjustStock(input: $input) {
    outcomes { locationId status code }
    errors { code message field }
  }
}
"""

RESERVE_STOCK = """
mutation Reserve($input: ReserveStockInput!) {
  reserveStock(input: $input) {
    outcomes { locationId status code }
    errors { code message field }
  }
}
"""

TRANSFER_STOCK = """
mutation Transfer($input: TransferStockInput!) {
  transferStock(input: $input) {
    outcomes { locationId status code reason }
    errors { code message }
  }
}
"""

PENDING_FOR = """
query Waiting($locations: [ID!]) {
  outboxMessages(statuses: ["pending"], locationIds: $locations) { id operation status }
}
"""

REPLAY = """
mutation Replay($input: ReplayOutboxMessageInput!) {
  replayOutboxMessage(input: $input) {
    outboxMessage { id status }
    outcomes { status code }
    errors { code message }
  }
}
"""


def new_key() -> str:
    return uuid.uuid4().hex


def booking_input(gateway: RunningGateway, location_id: str, **overrides: Any) -> dict[str, Any]:
    slot = free_slot(gateway, location_id, skip=overrides.pop("skip", 0))
    values: dict[str, Any] = {
        "idempotencyKey": new_key(),
        "serviceId": f"Service:{slot.service_id}",
        "startAt": slot.start_at.isoformat(),
        "resourceId": f"Resource:{slot.resource_id}",
        "customerId": f"Customer:{customer_known_at(gateway, location_id)}",
    }
    values.update(overrides)
    return values


def local_booking(gateway: RunningGateway, location_id: str, booking_key: str) -> Any:
    matches = [b for b in gateway.store(location_id).bookings.values() if b.global_id == booking_key]
    assert len(matches) <= 1, f"{len(matches)} copies of {booking_key} at {location_id}"
    return matches[0] if matches else None


def test_booking_made_at_one_location_for_another_lands_at_the_service_location(live_gateway: RunningGateway) -> None:
    data = booking_input(live_gateway, "stockport-merseyway", originatingLocationId="Location:manchester-central")
    result = live_gateway.graphql(CREATE_BOOKING, {"input": data})["data"]["createBooking"]

    assert result["errors"] == []
    assert [o["status"] for o in result["outcomes"]] == ["DELIVERED"]
    booking = result["booking"]
    assert booking["status"] == "CONFIRMED"
    assert booking["serviceLocation"]["id"] == "Location:stockport-merseyway"
    assert booking["originatingLocation"]["id"] == "Location:manchester-central"
    at_location = local_booking(live_gateway, "stockport-merseyway", key(booking["id"]))
    assert at_location is not None and at_location.status == "confirmed"
    cached = cache_row(live_gateway, Booking, key(booking["id"]))
    assert cached.local_booking_id == at_location.local_id

    async def revenue() -> list[Any]:
        async with live_gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(RevenueEntry.location_id, RevenueEntry.share_bp, RevenueEntry.amount_minor)
                .where(RevenueEntry.booking_id == key(booking["id"]))
                .order_by(RevenueEntry.share_bp)
            )
            return list(rows.all())

    shares = live_gateway.run(revenue())
    assert [(row[0], row[1]) for row in shares] == [("manchester-central", 2000), ("stockport-merseyway", 8000)]
    assert sum(row[2] for row in shares) == cached.price_minor


def test_same_idempotency_key_and_input_answers_again_without_a_second_write(live_gateway: RunningGateway) -> None:
    data = booking_input(live_gateway, "manchester-central", skip=1)
    first = live_gateway.graphql(CREATE_BOOKING, {"input": data})["data"]["createBooking"]
    writes = live_gateway.store("manchester-central").write_count
    counts = cache_counts(live_gateway)

    again = live_gateway.graphql(CREATE_BOOKING, {"input": data})["data"]["createBooking"]

    assert again["booking"]["id"] == first["booking"]["id"]
    assert again["outcomes"] == first["outcomes"]
    assert live_gateway.store("manchester-central").write_count == writes
    assert cache_counts(live_gateway) == counts
    changed = {**data, "notes": "a different request"}
    reused = live_gateway.graphql(CREATE_BOOKING, {"input": changed})["data"]["createBooking"]
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert cache_counts(live_gateway) == counts


def test_booking_a_taken_slot_is_slot_unavailable_and_writes_nothing(live_gateway: RunningGateway) -> None:
    data = booking_input(live_gateway, "dublin-ranelagh")
    live_gateway.graphql(CREATE_BOOKING, {"input": data})
    counts = cache_counts(live_gateway)
    writes = live_gateway.store("dublin-ranelagh").write_count

    taken = live_gateway.graphql(CREATE_BOOKING, {"input": {**data, "idempotencyKey": new_key()}})
    result = taken["data"]["createBooking"]

    assert [e["code"] for e in result["errors"]] == ["SLOT_UNAVAILABLE"]
    assert result["booking"] is None
    assert cache_counts(live_gateway) == counts
    assert live_gateway.store("dublin-ranelagh").write_count == writes


def test_bad_input_gets_typed_errors_and_writes_nothing_anywhere(live_gateway: RunningGateway) -> None:
    data = booking_input(live_gateway, "manchester-central", skip=2)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    counts = cache_counts(live_gateway)
    writes = {loc: live_gateway.store(loc).write_count for loc in ("manchester-central", "stockport-merseyway")}
    cases = [
        ({**data, "serviceId": "Service:svc_does_not_exist"}, "NOT_FOUND"),
        ({**data, "startAt": past}, "INVALID_INPUT"),
        ({**data, "currency": "JPY"}, "INVALID_INPUT"),
        ({**data, "customerId": "Customer:cus_nobody"}, "NOT_FOUND"),
        ({**data, "serviceId": "Booking:bkg_wrong_type"}, "INVALID_ID"),
    ]
    for bad, code in cases:
        result = live_gateway.graphql(CREATE_BOOKING, {"input": {**bad, "idempotencyKey": new_key()}})
        assert [e["code"] for e in result["data"]["createBooking"]["errors"]] == [code], (bad, result)
    item = first_stock(live_gateway, "manchester-central")
    for document, values, code in (
        (RESERVE_STOCK, {"quantity": -3}, "INVALID_INPUT"),
        (ADJUST_STOCK, {"delta": -1_000_000, "reason": "sale"}, "INSUFFICIENT_STOCK"),
        (ADJUST_STOCK, {"delta": 2, "reason": "because"}, "INVALID_INPUT"),
    ):
        variables = {
            "idempotencyKey": new_key(),
            "itemId": f"StockItem:{item}",
            "locationId": "Location:manchester-central",
            **values,
        }
        result = live_gateway.graphql(document, {"input": variables})
        payload = next(iter(result["data"].values()))
        assert [e["code"] for e in payload["errors"]] == [code], result
    assert cache_counts(live_gateway) == counts
    assert {loc: live_gateway.store(loc).write_count for loc in writes} == writes


def first_stock(gateway: RunningGateway, location_id: str) -> str:
    from sources.cache.models import StockLevel

    async def item() -> str:
        async with gateway.engine.connect() as connection:
            row = await connection.execute(
                select(StockLevel.item_id).where(StockLevel.location_id == location_id).order_by(StockLevel.item_id)
            )
            return str(row.scalars().first())

    return gateway.run(item())


def test_write_to_a_location_that_is_down_is_queued_and_arrives_once_when_it_is_back(
    live_gateway: RunningGateway,
) -> None:
    simulator = live_gateway.simulator("stockport-merseyway")
    data = booking_input(live_gateway, "stockport-merseyway", skip=3)
    live_gateway.run(simulator.stop())
    try:
        result = live_gateway.graphql(CREATE_BOOKING, {"input": data})["data"]["createBooking"]
        assert result["errors"] == []
        assert [(o["status"], o["code"]) for o in result["outcomes"]] == [("QUEUED", "LOCATION_UNAVAILABLE")]
        booking_key = key(result["booking"]["id"])
        assert result["booking"]["status"] == "PENDING"
        message = cache_row(live_gateway, OutboxMessage, key(result["outcomes"][0]["outboxMessageId"]))
        assert message.status == "pending"
        waiting = live_gateway.graphql(PENDING_FOR, {"locations": ["Location:stockport-merseyway"]})
        listed = waiting["data"]["outboxMessages"]
        assert {"id": f"OutboxMessage:{message.id}", "operation": "booking.create", "status": "pending"} in listed
        assert local_booking(live_gateway, "stockport-merseyway", booking_key) is None
    finally:
        live_gateway.run(simulator.start())

    wait_for(lambda: cache_row(live_gateway, OutboxMessage, message.id).status == "delivered", what="delivery")
    at_location = local_booking(live_gateway, "stockport-merseyway", booking_key)
    assert at_location is not None
    assert cache_row(live_gateway, Booking, booking_key).status == "confirmed"
    # Nothing else arrives later either: the worker does not send it again.
    writes = live_gateway.store("stockport-merseyway").write_count
    wait_for(lambda: True, 1)
    assert live_gateway.store("stockport-merseyway").write_count == writes
    assert local_booking(live_gateway, "stockport-merseyway", booking_key) is not None


def test_write_that_never_gets_through_is_dead_lettered_and_can_be_replayed(live_gateway: RunningGateway) -> None:
    simulator = live_gateway.simulator("dublin-ranelagh")
    item = first_stock(live_gateway, "dublin-ranelagh")
    variables = {
        "idempotencyKey": new_key(),
        "itemId": f"StockItem:{item}",
        "locationId": "Location:dublin-ranelagh",
        "delta": 5,
        "reason": "restock",
    }
    live_gateway.run(simulator.stop())
    try:
        result = live_gateway.graphql(ADJUST_STOCK, {"input": variables})["data"]["adjustStock"]
        assert [o["status"] for o in result["outcomes"]] == ["QUEUED"]
        message_key = next(m.id for m in [cache_row_for_item(live_gateway, item)] if m is not None)
        wait_for(lambda: cache_row(live_gateway, OutboxMessage, message_key).status == "dead", what="dead letter")
    finally:
        live_gateway.run(simulator.start())
    before = live_gateway.store("dublin-ranelagh").stock[sku_of(live_gateway, item)].quantity

    replayed = live_gateway.graphql(REPLAY, {"input": {"id": f"OutboxMessage:{message_key}"}})

    payload = replayed["data"]["replayOutboxMessage"]
    assert payload["errors"] == []
    # Delivered at once, or (while the location's circuit still cools down) queued and delivered by the worker.
    assert [o["status"] for o in payload["outcomes"]] in (["DELIVERED"], ["QUEUED"])
    wait_for(lambda: cache_row(live_gateway, OutboxMessage, message_key).status == "delivered", what="replay")
    assert live_gateway.store("dublin-ranelagh").stock[sku_of(live_gateway, item)].quantity == before + 5


def cache_row_for_item(gateway: RunningGateway, item_id: str) -> Any:
    async def newest() -> Any:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage)
                .where(OutboxMessage.entity_id == f"{item_id}@dublin-ranelagh")
                .order_by(OutboxMessage.created_at.desc())
            )
            return rows.first()

    return gateway.run(newest())


def sku_of(gateway: RunningGateway, item_id: str) -> str:
    from sources.cache.models import StockItem

    return str(cache_row(gateway, StockItem, item_id).sku)


def test_customer_update_reaches_every_location_that_knows_the_customer(live_gateway: RunningGateway) -> None:
    customer = customer_known_at(live_gateway, "manchester-central", "stockport-merseyway")
    email = f"updated-{uuid.uuid4().hex[:8]}@example.com"

    result = live_gateway.graphql(
        UPDATE_CUSTOMER, {"input": {"idempotencyKey": new_key(), "customerId": f"Customer:{customer}", "email": email}}
    )["data"]["updateCustomer"]

    assert result["errors"] == []
    assert result["customer"]["email"] == email
    delivered = {o["locationId"] for o in result["outcomes"] if o["status"] == "DELIVERED"}
    assert {"Location:manchester-central", "Location:stockport-merseyway"} <= delivered
    for location_id in ("manchester-central", "stockport-merseyway"):
        known = [c for c in live_gateway.store(location_id).customers.values() if c.global_id == customer]
        assert [c.email for c in known] == [email]


def test_cancel_and_reschedule_change_the_booking_at_its_location(live_gateway: RunningGateway) -> None:
    data = booking_input(live_gateway, "manchester-central", skip=4)
    created = live_gateway.graphql(CREATE_BOOKING, {"input": data})["data"]["createBooking"]["booking"]
    later = free_slot(live_gateway, "manchester-central", days_ahead=41)

    moved = live_gateway.graphql(
        RESCHEDULE_BOOKING,
        {
            "input": {
                "idempotencyKey": new_key(),
                "bookingId": created["id"],
                "startAt": later.start_at.isoformat(),
                "resourceId": f"Resource:{later.resource_id}",
            }
        },
    )["data"]["rescheduleBooking"]
    assert moved["errors"] == [], moved
    at_location = local_booking(live_gateway, "manchester-central", key(created["id"]))
    assert at_location.start_at == later.start_at

    cancelled = live_gateway.graphql(
        CANCEL_BOOKING, {"input": {"idempotencyKey": new_key(), "bookingId": created["id"], "reason": "customer asked"}}
    )["data"]["cancelBooking"]
    assert cancelled["errors"] == []
    assert cancelled["booking"]["status"] == "CANCELLED"
    assert local_booking(live_gateway, "manchester-central", key(created["id"])).status == "cancelled"


def test_stock_transfer_to_a_location_that_is_down_happens_on_neither_side(live_gateway: RunningGateway) -> None:
    item = shared_stock_item(live_gateway, "manchester-central", "stockport-merseyway")
    sku = sku_of(live_gateway, item)
    source_before = live_gateway.store("manchester-central").stock[sku].quantity
    cached_before = stock_quantities(live_gateway, item)
    simulator = live_gateway.simulator("stockport-merseyway")
    live_gateway.run(simulator.stop())
    try:
        result = live_gateway.graphql(
            TRANSFER_STOCK,
            {
                "input": {
                    "idempotencyKey": new_key(),
                    "itemId": f"StockItem:{item}",
                    "fromLocationId": "Location:manchester-central",
                    "toLocationId": "Location:stockport-merseyway",
                    "quantity": 1,
                }
            },
        )["data"]["transferStock"]
    finally:
        live_gateway.run(simulator.start())

    assert result["errors"], result
    assert "FAILED" in [o["status"] for o in result["outcomes"]]
    wait_for(
        lambda: live_gateway.store("manchester-central").stock[sku].quantity == source_before,
        what="the source's stock given back",
    )
    assert stock_quantities(live_gateway, item) == cached_before


def test_stock_transfer_moves_stock_between_two_locations(live_gateway: RunningGateway) -> None:
    item = shared_stock_item(live_gateway, "manchester-central", "stockport-merseyway")
    sku = sku_of(live_gateway, item)
    before = {loc: live_gateway.store(loc).stock[sku].quantity for loc in ("manchester-central", "stockport-merseyway")}

    result = live_gateway.graphql(
        TRANSFER_STOCK,
        {
            "input": {
                "idempotencyKey": new_key(),
                "itemId": f"StockItem:{item}",
                "fromLocationId": "Location:manchester-central",
                "toLocationId": "Location:stockport-merseyway",
                "quantity": 1,
            }
        },
    )["data"]["transferStock"]

    assert result["errors"] == [], result
    assert [o["status"] for o in result["outcomes"]] == ["DELIVERED", "DELIVERED"]
    assert live_gateway.store("manchester-central").stock[sku].quantity == before["manchester-central"] - 1
    assert live_gateway.store("stockport-merseyway").stock[sku].quantity == before["stockport-merseyway"] + 1


def shared_stock_item(gateway: RunningGateway, first: str, second: str) -> str:
    from sources.cache.models import StockLevel

    async def item() -> str:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(StockLevel.item_id, StockLevel.location_id, StockLevel.quantity, StockLevel.reserved).where(
                    StockLevel.location_id.in_([first, second])
                )
            )
            seen: dict[str, set[str]] = {}
            for item_id, location_id, quantity, reserved in rows.all():
                if location_id != first or quantity - reserved >= 2:
                    seen.setdefault(item_id, set()).add(location_id)
            return sorted(item_id for item_id, where in seen.items() if where == {first, second})[0]

    return gateway.run(item())


def stock_quantities(gateway: RunningGateway, item_id: str) -> dict[str, int]:
    from sources.cache.models import StockLevel

    async def levels() -> dict[str, int]:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(StockLevel.location_id, StockLevel.quantity).where(StockLevel.item_id == item_id)
            )
            return {location_id: quantity for location_id, quantity in rows.all()}

    return gateway.run(levels())


DUPLICATES = "{ duplicateCustomers(first: 500) { customers { id email } } }"
MERGE = """
mutation Merge($input: MergeCustomersInput!) {
  mergeCustomers(input: $input) {
    customer { id bookings(first: 500) { totalCount } }
    outcomes { locationId status code }
    errors { code message }
  }
}
"""


def test_duplicate_customers_are_listed_and_merged_into_one(live_gateway: RunningGateway) -> None:
    from sources.cache.models import Customer, CustomerMapping

    original = customer_known_at(live_gateway, "manchester-central")
    source = cache_row(live_gateway, Customer, original)
    duplicate = f"cus_dup_{uuid.uuid4().hex[:8]}"
    local_id = next(
        c.local_id for c in live_gateway.store("leeds-headingley").customers.values() if c.global_id != original
    )

    async def add_duplicate() -> None:
        # A location that knew this person under another record: the way duplicates arrive.
        async with live_gateway.engine.begin() as connection:
            await connection.execute(
                insert(Customer).values(
                    id=duplicate,
                    primary_location_id="leeds-headingley",
                    first_name=source.first_name,
                    last_name=source.last_name,
                    email=source.email.upper(),
                    phone=None,
                    preferences={},
                    consents={},
                    version=1,
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )
            await connection.execute(
                update(CustomerMapping)
                .where(CustomerMapping.location_id == "leeds-headingley", CustomerMapping.local_customer_id == local_id)
                .values(customer_id=duplicate)
            )

    live_gateway.run(add_duplicate())
    groups = live_gateway.graphql(DUPLICATES)["data"]["duplicateCustomers"]
    assert any({c["id"] for c in g["customers"]} >= {f"Customer:{original}", f"Customer:{duplicate}"} for g in groups)

    merged = live_gateway.graphql(
        MERGE,
        {
            "input": {
                "idempotencyKey": new_key(),
                "keepCustomerId": f"Customer:{original}",
                "removeCustomerId": f"Customer:{duplicate}",
            }
        },
    )["data"]["mergeCustomers"]

    assert merged["errors"] == [], merged
    assert merged["customer"]["id"] == f"Customer:{original}"
    assert cache_row(live_gateway, Customer, duplicate) is None
    assert ("Location:leeds-headingley", "DELIVERED") in {(o["locationId"], o["status"]) for o in merged["outcomes"]}
    assert live_gateway.store("leeds-headingley").customers[local_id].email == source.email


def test_booking_without_a_location_goes_to_the_nearest_one_that_takes_bookings(live_gateway: RunningGateway) -> None:
    from sources.cache.models import Location

    salford = cache_row(live_gateway, Location, "salford-quays")  # a source website: it takes no bookings from us
    slot = free_slot(live_gateway, "manchester-central", days_ahead=60)
    base = {
        "category": cache_row(live_gateway, Service, slot.service_id).category,
        "near": {"latitude": salford.latitude, "longitude": salford.longitude},
        "startAt": slot.start_at.isoformat(),
        "customerId": f"Customer:{customer_known_at(live_gateway, 'manchester-central')}",
    }

    result = live_gateway.graphql(CREATE_BOOKING, {"input": {**base, "idempotencyKey": new_key()}})
    too_far = live_gateway.graphql(
        CREATE_BOOKING, {"input": {**base, "idempotencyKey": new_key(), "maxDistanceKm": 0.5}}
    )

    payload = result["data"]["createBooking"]
    assert payload["errors"] == [], payload
    chosen = payload["booking"]["serviceLocation"]["id"]
    assert chosen not in ("Location:salford-quays", "Location:dublin-ranelagh")
    assert [e["code"] for e in too_far["data"]["createBooking"]["errors"]] == ["SLOT_UNAVAILABLE"]
