"""The outbox message contract: one typed message per operation, stored as the JSON it always was."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from devnet.demo.activity import build_activity
from devnet.demo.bookings import build_bookings
from devnet.demo.customers import build_customers
from devnet.demo.ids import GlobalIds
from devnet.demo.network import build_network
from sources.connectors.records import CustomerDetails
from sync.outbox.messages import (
    MESSAGE_TYPES,
    BookingBefore,
    BookingCancelMessage,
    BookingCreateMessage,
    BookingRescheduleMessage,
    BookingWebhookMessage,
    CustomerEraseMessage,
    CustomerMergeMessage,
    CustomerUpsertMessage,
    Message,
    ResourceShareMessage,
    ResourceUnshareMessage,
    ShareBefore,
    StockChangeMessage,
    UndecodableMessage,
    decode,
)

NINE = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ALICE = CustomerDetails("cus_1", "Alice", "Smith", "alice@example.com", None, {"newsletter": True})
BEFORE = BookingBefore("confirmed", NINE, TEN, "res_1")

# One message of every operation, and the JSON the outbox has stored for it since before messages were typed.
SAMPLES: list[tuple[Message[Any], dict[str, Any]]] = [
    (
        BookingCreateMessage(
            booking_id="bkg_1",
            customer=ALICE,
            local_customer_id=None,
            local_service_id="svc-9",
            local_resource_id="staff-3",
            start_at=NINE,
            end_at=TEN,
            price_minor=4500,
            currency="GBP",
            notes="window seat",
            originating_location_id="leeds",
        ),
        {
            "booking_id": "bkg_1",
            "customer": {
                "global_id": "cus_1",
                "first_name": "Alice",
                "last_name": "Smith",
                "email": "alice@example.com",
                "phone": None,
                "preferences": {"newsletter": True},
            },
            "local_customer_id": None,
            "local_service_id": "svc-9",
            "local_resource_id": "staff-3",
            "start_at": "2026-11-21T09:00:00+00:00",
            "end_at": "2026-11-21T10:00:00+00:00",
            "price_minor": 4500,
            "currency": "GBP",
            "notes": "window seat",
            "originating_location_id": "leeds",
        },
    ),
    (
        BookingRescheduleMessage("bkg_1", "B-77", BEFORE, TEN, TEN.replace(hour=11), local_resource_id=None),
        {
            "booking_id": "bkg_1",
            "local_booking_id": "B-77",
            "start_at": "2026-11-21T10:00:00+00:00",
            "end_at": "2026-11-21T11:00:00+00:00",
            "local_resource_id": None,
            "before": {
                "status": "confirmed",
                "start_at": "2026-11-21T09:00:00+00:00",
                "end_at": "2026-11-21T10:00:00+00:00",
                "resource_id": "res_1",
            },
            "change": "rescheduled",
        },
    ),
    (
        BookingCancelMessage("bkg_1", "B-77", BEFORE, reason="ill"),
        {
            "booking_id": "bkg_1",
            "local_booking_id": "B-77",
            "reason": "ill",
            "before": {
                "status": "confirmed",
                "start_at": "2026-11-21T09:00:00+00:00",
                "end_at": "2026-11-21T10:00:00+00:00",
                "resource_id": "res_1",
            },
            "change": "cancelled",
        },
    ),
    (
        CustomerUpsertMessage("cus_1", "C-5", ALICE),
        {
            "customer_id": "cus_1",
            "local_customer_id": "C-5",
            "details": {
                "global_id": "cus_1",
                "first_name": "Alice",
                "last_name": "Smith",
                "email": "alice@example.com",
                "phone": None,
                "preferences": {"newsletter": True},
            },
        },
    ),
    (
        CustomerMergeMessage("cus_1", "C-5", "C-6", "cus_2"),
        {"customer_id": "cus_1", "keep_local_id": "C-5", "remove_local_id": "C-6", "merged_customer_id": "cus_2"},
    ),
    (
        ResourceShareMessage("res_1", "staff-3", "salford", {"days": ["mon"]}, ShareBefore({}, False)),
        {
            "resource_id": "res_1",
            "local_resource_id": "staff-3",
            "with_location_id": "salford",
            "rules": {"days": ["mon"]},
            "before": {"rules": {}, "is_active": False},
        },
    ),
    (
        ResourceUnshareMessage("res_1", "staff-3", "salford", {}, ShareBefore({"days": ["mon"]}, True)),
        {
            "resource_id": "res_1",
            "local_resource_id": "staff-3",
            "with_location_id": "salford",
            "rules": {},
            "before": {"rules": {"days": ["mon"]}, "is_active": True},
        },
    ),
    (
        BookingWebhookMessage("bkg_1", "B-77", "booking.updated", {"admin_notes": "late"}, "admin@example.com"),
        {
            "booking_id": "bkg_1",
            "local_booking_id": "B-77",
            "event": "booking.updated",
            "data": {"admin_notes": "late"},
            "updated_by": "admin@example.com",
        },
    ),
    (
        StockChangeMessage("itm_1", "SKU-1", "reserve", 3, reason="", reference="order 12"),
        {
            "item_id": "itm_1",
            "sku": "SKU-1",
            "kind": "reserve",
            "quantity": 3,
            "reason": "",
            "reference": "order 12",
            "cache_delta": {"quantity": 0, "reserved": 3},
        },
    ),
    (
        CustomerEraseMessage("cus_1", "C-5", "dsr_1"),
        {"customer_id": "cus_1", "local_customer_id": "C-5", "request_id": "dsr_1"},
    ),
]


def test_every_operation_has_a_sample() -> None:
    assert sorted(message.op for message, _ in SAMPLES) == sorted(MESSAGE_TYPES)


@pytest.mark.parametrize("message", [message for message, _ in SAMPLES], ids=lambda message: message.op)
def test_every_registered_operation_round_trips_encode_then_decode(message: Message[Any]) -> None:
    assert MESSAGE_TYPES[message.op] is type(message)
    assert decode(message.op, message.encode()) == message


@pytest.mark.parametrize(("message", "stored"), SAMPLES, ids=lambda value: getattr(value, "op", ""))
def test_a_message_is_stored_as_the_json_the_outbox_always_held(message: Message[Any], stored: dict[str, Any]) -> None:
    assert message.encode() == stored
    assert decode(message.op, stored) == message


def test_an_unknown_operation_in_a_stored_row_is_a_clear_error() -> None:
    with pytest.raises(UndecodableMessage) as refused:
        decode("booking.teleport", {"booking_id": "bkg_1"})
    assert refused.value.operation == "booking.teleport"
    assert "no message type has this operation" in str(refused.value)
    assert "booking.create" in str(refused.value)  # it names the ones it knows


def test_a_stored_row_missing_a_field_or_of_the_wrong_shape_is_a_clear_error() -> None:
    with pytest.raises(UndecodableMessage, match="lacks `sku`"):
        decode("stock.change", {"item_id": "itm_1", "kind": "change", "quantity": 1})
    with pytest.raises(UndecodableMessage, match="`start_at` is not an ISO time"):
        decode("booking.reschedule", {**SAMPLES[1][1], "start_at": "tomorrow"})
    with pytest.raises(UndecodableMessage, match="CustomerDetails lacks `first_name`"):
        decode("customer.upsert", {"customer_id": "cus_1", "local_customer_id": None, "details": {"global_id": "x"}})
    with pytest.raises(UndecodableMessage, match="not 'teleport'"):
        decode("stock.change", {**next(s for m, s in SAMPLES if m.op == "stock.change"), "kind": "teleport"})


def test_the_version_to_expect_is_added_at_send_time_and_never_stored() -> None:
    upsert = CustomerUpsertMessage("cus_1", "C-5", ALICE)
    assert upsert.expects_version() and upsert.expecting(7).expected_version == 7
    assert "expected_version" not in upsert.expecting(7).encode()
    assert not CustomerUpsertMessage("cus_1", None, ALICE).expects_version()  # a create has nothing to expect
    assert not CustomerMergeMessage("cus_1", "C-5", "C-6", "cus_2").expects_version()


def test_rows_queued_before_messages_were_typed_still_decode() -> None:
    # Shares and merges carried the event to publish; the merge named the merged customer only there.
    merge = {
        "customer_id": "cus_1",
        "keep_local_id": "C-5",
        "remove_local_id": "C-6",
        "event_topic": "customer.changed",
        "event": {"customerId": "cus_1", "mergedCustomerId": "cus_2"},
    }
    assert decode("customer.merge", merge) == CustomerMergeMessage("cus_1", "C-5", "C-6", "cus_2")
    share = {**SAMPLES[5][1], "event_topic": "resource.changed", "event": {"resourceId": "res_1", "shared": True}}
    assert decode("resource.share", share) == SAMPLES[5][0]


def test_the_demo_queues_customer_upserts_as_the_gateway_encodes_them() -> None:
    rng = random.Random(20261121)
    ids = GlobalIds(rng)
    network = build_network(rng, ids, NINE)
    customers = build_customers(rng, ids, NINE, network)
    bookings = build_bookings(rng, ids, NINE, network, customers.customers)
    activity = build_activity(rng, ids, NINE, network, customers, bookings)
    by_id = {row["id"]: row for row in customers.customer_rows}
    assert activity.outbox_rows
    for row in activity.outbox_rows:
        message = decode(row["operation"], row["payload"])
        assert isinstance(message, CustomerUpsertMessage)
        assert (row["entity_type"], row["entity_id"]) == ("customer", message.customer_id)
        customer = by_id[message.customer_id]
        assert row["payload"] == {
            "customer_id": customer["id"],
            "local_customer_id": message.local_customer_id,
            "details": {
                "global_id": customer["id"],
                "first_name": customer["first_name"],
                "last_name": customer["last_name"],
                "email": customer["email"],
                "phone": customer["phone"],
                "preferences": customer["preferences"],
            },
        }
