"""Every input has bounds: what a new user tried (issue 10 §5) is INVALID_INPUT naming the field, on SQLite
and PostgreSQL alike, and nothing is written; a value exactly at its bound is taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bounds_helpers import DemoIds, demo_ids, mutate, new_key, own_gateway, payload_errors, snapshot
from clock import session_instant
from live_helpers import free_slot
from sqlalchemy import select

from conftest import RunningGateway
from resolvers import bounds
from sources.cache.models import Booking, Customer

__all__ = ["own_gateway"]  # the fixture, imported for pytest

FAR_FUTURE = "9999-12-31T23:59:59Z"


def email_of(length: int) -> str:
    """A well-formed address of exactly `length` characters (local part at its limit of 64)."""
    domain_length = length - 64 - 1
    labels, remaining = [], domain_length - 4  # ".com"
    while remaining > 0:
        label = min(remaining, 63)
        labels.append("d" * label)
        remaining -= label + 1
    domain = ".".join(labels) + ".com"
    address = "l" * 64 + "@" + domain
    return address[:length] if len(address) > length else address


@pytest.fixture(scope="module")
def ids(own_gateway: RunningGateway) -> DemoIds:
    return demo_ids(own_gateway)


def booking_data(gateway: RunningGateway, ids: DemoIds, **overrides: Any) -> dict[str, Any]:
    slot = free_slot(gateway, ids.location, skip=overrides.pop("skip", 0))
    data: dict[str, Any] = {
        "idempotencyKey": new_key(),
        "serviceId": f"Service:{slot.service_id}",
        "startAt": slot.start_at.isoformat(),
        "resourceId": f"Resource:{slot.resource_id}",
        "customerId": f"Customer:{ids.customer}",
    }
    data.update(overrides)
    return data


def new_customer(**overrides: str) -> dict[str, str]:
    return {"firstName": "Ada", "lastName": "Bounds", **overrides}


def refused(gateway: RunningGateway, name: str, data: dict[str, Any], field: str, customer: str | None = None) -> None:
    before = snapshot(gateway, customer)
    payload = mutate(gateway, name, data)
    assert payload_errors(payload) == [("INVALID_INPUT", field)], payload
    assert payload["outcomes"] == []
    assert snapshot(gateway, customer) == before, "a refused write left rows behind"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"notes": "n" * (bounds.NOTES_LENGTH + 1)}, "notes"),
        ({"newCustomer": new_customer(firstName="F" * 5000)}, "newCustomer.firstName"),
        ({"newCustomer": new_customer(email=email_of(300))}, "newCustomer.email"),
        ({"newCustomer": new_customer(email="not an address")}, "newCustomer.email"),
        ({"newCustomer": new_customer(phone="call me maybe")}, "newCustomer.phone"),
        ({"startAt": FAR_FUTURE}, "startAt"),
        ({"startAt": "1999-12-31T23:59:59Z"}, "startAt"),
        ({"currency": "EURO"}, "currency"),
        ({"maxDistanceKm": 1e300}, "maxDistanceKm"),
        ({"category": "c" * 101, "serviceId": None}, "category"),
        ({"idempotencyKey": "retry 1\n"}, "idempotencyKey"),
        ({"idempotencyKey": " "}, "idempotencyKey"),
        ({"idempotencyKey": "\x00"}, "idempotencyKey"),
        ({"idempotencyKey": "k" * (bounds.IDEMPOTENCY_KEY_LENGTH + 1)}, "idempotencyKey"),
        ({"serviceId": "Service:" + "s" * 65}, "serviceId"),
        ({"customerId": "Customer:\x00"}, "customerId"),
        ({"notes": "null \x00 byte"}, "notes"),
    ],
)
def test_create_booking_out_of_bounds_is_invalid_input_on_its_field(
    own_gateway: RunningGateway, ids: DemoIds, overrides: dict[str, Any], field: str
) -> None:
    data = booking_data(own_gateway, ids, **overrides)
    if "newCustomer" in overrides:
        data.pop("customerId")
    refused(own_gateway, "createBooking", data, field)


def test_reschedule_to_the_year_9999_is_invalid_input(own_gateway: RunningGateway, ids: DemoIds) -> None:
    data = {"idempotencyKey": new_key(), "bookingId": f"Booking:{ids.booking}", "startAt": FAR_FUTURE}
    refused(own_gateway, "rescheduleBooking", data, "startAt")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": email_of(302)}, "email"),
        ({"email": "x@"}, "email"),
        ({"phone": "1" * 100}, "phone"),
        ({"phone": "+44 7700 900123 ext. 4"}, "phone"),
        ({"firstName": "N" * 500}, "firstName"),
        ({"lastName": "N" * 101}, "lastName"),
        ({"preferences": {"note": "p" * (bounds.JSON_LENGTH + 1)}}, "preferences"),
        ({"preferences": {"bad": "\x00"}}, "preferences"),
        ({"idempotencyKey": "retry 1\n"}, "idempotencyKey"),
    ],
)
def test_update_customer_out_of_bounds_is_invalid_input_and_the_customer_unchanged(
    own_gateway: RunningGateway, ids: DemoIds, overrides: dict[str, Any], field: str
) -> None:
    data = {"idempotencyKey": new_key(), "customerId": f"Customer:{ids.other_customer}", **overrides}
    refused(own_gateway, "updateCustomer", data, field, customer=ids.other_customer)


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("adjustStock", {"delta": bounds.QUANTITY_MAX + 1, "reason": "restock"}, "delta"),
        ("adjustStock", {"delta": 5, "reason": "restock", "reference": "r" * 201}, "reference"),
        ("reserveStock", {"quantity": bounds.QUANTITY_MAX + 1}, "quantity"),
        ("releaseStock", {"quantity": 1, "reference": "line\nbreak"}, "reference"),
    ],
)
def test_stock_changes_out_of_bounds_are_invalid_input(
    own_gateway: RunningGateway, ids: DemoIds, name: str, data: dict[str, Any], field: str
) -> None:
    target = {"itemId": f"StockItem:{ids.stock_item}", "locationId": f"Location:{ids.stock_location}"}
    refused(own_gateway, name, {"idempotencyKey": new_key(), **target, **data}, field)


def test_cancel_reason_and_share_rules_have_bounds(own_gateway: RunningGateway, ids: DemoIds) -> None:
    cancel = {"idempotencyKey": new_key(), "bookingId": f"Booking:{ids.booking}", "reason": "r" * 501}
    refused(own_gateway, "cancelBooking", cancel, "reason")
    share = {
        "idempotencyKey": new_key(),
        "resourceId": f"Resource:{ids.resource}",
        "withLocationId": f"Location:{ids.location}",
        "rules": {"max_hours_per_week": 1000},
    }
    refused(own_gateway, "shareResource", share, "rules.max_hours_per_week")


def test_a_huge_customer_search_is_invalid_input_naming_search(own_gateway: RunningGateway) -> None:
    for search in ("x" * 100_000, "a\x00b"):
        body = own_gateway.graphql(
            "query($s: String) { customers(first: 5, filter: {search: $s}) { totalCount } }", {"s": search}
        )
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]] == [
            ("INVALID_INPUT", "search")
        ]
    at_bound = own_gateway.graphql(
        "query($s: String) { customers(first: 5, filter: {search: $s}) { totalCount } }",
        {"s": "x" * bounds.SEARCH_LENGTH},
    )
    assert "errors" not in at_bound, at_bound


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "Booking:" + "b" * 10_000}, "id"),
        ("query($a: String) { bookings(first: 1, after: $a) { totalCount } }", {"a": "c" * 5000}, "after"),
        ("query { bookings(first: 100000) { totalCount } }", {}, "first"),
        (
            "query($f: BookingFilterInput) { bookings(first: 1, filter: $f) { totalCount } }",
            {"f": {"startsBefore": FAR_FUTURE}},
            "startsBefore",
        ),
        ('query { revenue(from: "0001-01-01", to: "0001-01-02") { __typename } }', {}, "from"),
    ],
)
def test_query_arguments_out_of_bounds_are_invalid_input_naming_the_argument(
    own_gateway: RunningGateway, query: str, variables: dict[str, Any], field: str
) -> None:
    body = own_gateway.graphql(query, variables)
    codes = [(e["extensions"]["code"], e["extensions"].get("field")) for e in body.get("errors", [])]
    assert codes == [("INVALID_INPUT", field)], body


def test_values_exactly_at_their_bounds_are_taken(own_gateway: RunningGateway, ids: DemoIds) -> None:
    email = email_of(bounds.EMAIL_LENGTH)
    assert len(email) == bounds.EMAIL_LENGTH
    notes = "n" * bounds.NOTES_LENGTH
    first_name = "F" * bounds.NAME_LENGTH
    data = booking_data(
        own_gateway,
        ids,
        skip=1,
        idempotencyKey="k" * bounds.IDEMPOTENCY_KEY_LENGTH,
        notes=notes,
        newCustomer=new_customer(firstName=first_name, email=email, phone="+" + "1" * (bounds.PHONE_LENGTH - 1)),
    )
    data.pop("customerId")
    body = own_gateway.graphql(
        "mutation($input: CreateBookingInput!) { createBooking(input: $input) { booking { id notes "
        "customer { firstName email phone } } errors { code field message } } }",
        {"input": data},
    )
    created = body["data"]["createBooking"]
    assert created["errors"] == [], created
    assert created["booking"]["notes"] == notes
    assert created["booking"]["customer"] == {
        "firstName": first_name,
        "email": email,
        "phone": data["newCustomer"]["phone"],
    }
    stored = own_gateway.run(_row(own_gateway, Booking, created["booking"]["id"].split(":", 1)[1]))
    assert len(stored.notes) == bounds.NOTES_LENGTH  # stored whole on both backends

    update = {
        "idempotencyKey": new_key(),
        "customerId": f"Customer:{ids.customer}",
        "lastName": "L" * bounds.NAME_LENGTH,
        "email": email_of(bounds.EMAIL_LENGTH).replace("l", "m", 1),
        "phone": "(0161) 496-0000 " + "1" * (bounds.PHONE_LENGTH - 16),
    }
    updated = mutate(own_gateway, "updateCustomer", update)
    assert updated["errors"] == [], updated
    row = own_gateway.run(_row(own_gateway, Customer, ids.customer))
    assert (row.last_name, row.email, row.phone) == (update["lastName"], update["email"], update["phone"])


def test_times_inside_the_window_pass_the_bounds(own_gateway: RunningGateway, ids: DemoIds) -> None:
    """Near the window's end the booking may be refused for other reasons, never for the bound."""
    latest = (bounds.LATEST - timedelta(seconds=1)).isoformat()
    for start in (latest, (session_instant().astimezone(UTC) + timedelta(days=3650)).isoformat()):
        payload = mutate(
            own_gateway,
            "rescheduleBooking",
            {"idempotencyKey": new_key(), "bookingId": f"Booking:{ids.booking}", "startAt": start},
        )
        assert ("INVALID_INPUT", "startAt") not in payload_errors(payload), payload
    assert datetime(2000, 1, 1, tzinfo=UTC) == bounds.EARLIEST


async def _row(gateway: RunningGateway, model: Any, key: str) -> Any:
    async with gateway.engine.connect() as connection:
        return (await connection.execute(select(model).where(model.id == key))).one()
