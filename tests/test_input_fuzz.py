"""Whatever a client sends to a mutation, the answer is never a 500 or INTERNAL_SERVER_ERROR.

Hypothesis builds each mutation's input from values that pass with one or two fields gone wild: arbitrary
strings (controls, NUL, lone surrogates, huge, non-Latin), integers past every range, floats including NaN
and infinities, dates from year 1 to 9999 with and without offsets, nested JSON, ids of any shape. The wild
value so meets the checks (and the SQL) behind the others. Requests go over real HTTP to a gateway on a
database of its own (bounds_helpers), on SQLite and on PostgreSQL.

Budget: derandomized (the same examples on every run, no example database); EXAMPLES per mutation and
backend: 18 mutations x 40 examples x 2 backends = 1,440 requests, about 120 s on two cores (with the
character checks of resolvers.bounds switched off it finds NUL 500s on PostgreSQL within these examples).
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from typing import Any

import httpx
import pytest
from bounds_helpers import MUTATIONS, DemoIds, demo_ids, own_gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import RunningGateway

__all__ = ["own_gateway"]  # the fixture, imported for pytest

EXAMPLES = 40

# Every code point, surrogates and controls included (hypothesis leaves out surrogates by default).
ANY_CHARACTER = st.characters(exclude_categories=())
EDGE_LENGTHS = [0, 1, 3, 32, 33, 64, 65, 100, 101, 128, 129, 200, 201, 254, 255, 500, 501, 2000, 2001, 5000, 100_000]
EDGE_STRINGS = ["", " ", "\x00", "\n", "retry 1\n", "a@b.c", "+44 20 7946 0000", "EUR", "😀", "\ud800", "%_\\"]

strings = st.one_of(
    st.text(ANY_CHARACTER, max_size=40),
    st.sampled_from(EDGE_STRINGS),
    st.builds(lambda n, c: c * n, st.sampled_from(EDGE_LENGTHS), st.sampled_from(["x", "é", "😀", "\x00", " "])),
)
keys = st.one_of(st.uuids().map(lambda u: u.hex), strings)
integers = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([0, 1, -1, 999_999, 1_000_000, 1_000_001, 2**31 - 1, -(2**31), 2**31, 10**30]),
)
floats = st.floats(allow_nan=True, allow_infinity=True)
OFFSETS = [None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
times = st.one_of(
    st.datetimes(timezones=st.sampled_from(OFFSETS)).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "2099-12-31T23:59:59Z", "tomorrow"]),
    strings,
)
json_values = st.recursive(
    st.none() | st.booleans() | integers | floats | strings,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(strings, children, max_size=3),
    max_leaves=8,
)
# Sharing rules and customer preferences are JSON objects; most of what is generated should be one.
json_objects = st.one_of(
    st.dictionaries(
        st.sampled_from(["weekdays", "from", "notes", "max_hours_per_week", "lead_time_hours"]) | strings,
        json_values,
        max_size=4,
    ),
    json_values,
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def ids_of(type_name: str) -> st.SearchStrategy[str]:
    """Ids of the type with any key, ids of another type, and anything at all."""
    return st.one_of(
        strings.map(lambda key: f"{type_name}:{key}"), st.sampled_from(["Booking:x", "nonsense", ""]), strings
    )


def real(type_name: str, *keys: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f"{type_name}:{key}" for key in keys])


Field = tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]  # (a value that passes, anything)


def fields_of(name: str, ids: DemoIds) -> dict[str, Field]:
    key: Field = (st.uuids().map(lambda u: u.hex), keys)
    booking: Field = (real("Booking", ids.booking), ids_of("Booking"))
    customer: Field = (real("Customer", ids.customer, ids.other_customer), ids_of("Customer"))
    location: Field = (real("Location", ids.location, ids.other_location), ids_of("Location"))
    stock_at: Field = (real("Location", ids.stock_location, ids.other_stock_location), ids_of("Location"))
    resource: Field = (st.none(), optional(ids_of("Resource") | real("Resource", ids.resource)))
    item: Field = (real("StockItem", ids.stock_item), ids_of("StockItem"))
    # Opening hours are in the morning at every demo location; days ahead of the session's instant.
    start: Field = (st.integers(30, 90).map(lambda days: f"{ids.future_day(days)}T10:00:00+00:00"), times)
    text: Field = (st.just("fine"), strings)
    none_or_text: Field = (st.none(), optional(strings))
    count: Field = (st.just(1), integers)
    consent: dict[str, Field] = {
        "idempotencyKey": key,
        "customerId": customer,
        "purpose": (st.just("MARKETING"), st.sampled_from(["DATA_SHARING", "marketing", ""]) | strings),
        "channel": (st.just("WEBSITE"), strings),
        "locationId": (st.none(), optional(location[1])),
        "ipAddress": none_or_text,
        "userAgent": none_or_text,
    }
    table: dict[str, dict[str, Field]] = {
        "createBooking": {
            "idempotencyKey": key,
            "startAt": start,
            "serviceId": (real("Service", ids.service), optional(ids_of("Service"))),
            "category": none_or_text,
            "customerId": customer,
            "newCustomer": (
                st.none(),
                st.fixed_dictionaries(
                    {"firstName": strings, "lastName": strings},
                    optional={"email": optional(strings), "phone": optional(strings)},
                ),
            ),
            "originatingLocationId": (st.none(), optional(location[1])),
            "resourceId": resource,
            "near": (st.none(), st.fixed_dictionaries({"latitude": floats, "longitude": floats})),
            "maxDistanceKm": (st.just(50.0), floats),
            "currency": none_or_text,
            "notes": text,
        },
        "rescheduleBooking": {"idempotencyKey": key, "bookingId": booking, "startAt": start, "resourceId": resource},
        "cancelBooking": {"idempotencyKey": key, "bookingId": booking, "reason": text},
        "transferBooking": {
            "idempotencyKey": key,
            "bookingId": booking,
            "toLocationId": location,
            "startAt": (st.none(), optional(times)),
        },
        "updateCustomer": {
            "idempotencyKey": key,
            "customerId": customer,
            "firstName": text,
            "lastName": none_or_text,
            "email": none_or_text,
            "phone": none_or_text,
            "preferences": (st.none(), json_objects),
        },
        "mergeCustomers": {"idempotencyKey": key, "keepCustomerId": customer, "removeCustomerId": customer},
        "shareResource": {
            "idempotencyKey": key,
            "resourceId": (real("Resource", ids.resource), ids_of("Resource")),
            "withLocationId": location,
            "rules": (st.just({"weekdays": [1]}), json_objects),
        },
        "unshareResource": {
            "idempotencyKey": key,
            "resourceId": (real("Resource", ids.resource), ids_of("Resource")),
            "withLocationId": location,
        },
        "adjustStock": {
            "idempotencyKey": key,
            "itemId": item,
            "locationId": stock_at,
            "delta": count,
            "reason": (st.just("restock"), strings),
            "reference": none_or_text,
        },
        "reserveStock": {"idempotencyKey": key, "itemId": item, "locationId": stock_at, "quantity": count},
        "releaseStock": {
            "idempotencyKey": key,
            "itemId": item,
            "locationId": stock_at,
            "quantity": count,
            "reference": none_or_text,
        },
        "transferStock": {
            "idempotencyKey": key,
            "itemId": item,
            "fromLocationId": stock_at,
            "toLocationId": stock_at,
            "quantity": count,
        },
        "replayOutboxMessage": {"id": (ids_of("OutboxMessage"), ids_of("OutboxMessage"))},
        "triggerSync": {"locationId": location, "full": (st.just(False), st.booleans())},
        "resolveConflict": {"id": (ids_of("Conflict"), ids_of("Conflict")), "mergedData": (st.just({}), json_objects)},
        "rollbackSyncJob": {"id": (ids_of("SyncJob"), ids_of("SyncJob"))},
        "recordConsent": {**consent, "expiresAt": (st.none(), optional(times))},
        "withdrawConsent": consent,
    }
    return table[name]


@st.composite
def inputs(draw: st.DrawFn, fields: dict[str, Field]) -> dict[str, Any]:
    """A valid input with one or two fields gone wild: the wild value meets the checks behind the others."""
    wild = draw(st.sets(st.sampled_from(sorted(fields)), min_size=1, max_size=2))
    return {name: draw(fields[name][1] if name in wild else fields[name][0]) for name in fields}


@pytest.fixture(scope="module")
def ids(own_gateway: RunningGateway) -> DemoIds:
    return demo_ids(own_gateway)


def send(gateway: RunningGateway, name: str, data: dict[str, Any]) -> httpx.Response:
    # Serialised here, not by httpx: json.dumps escapes lone surrogates (httpx would fail to encode them)
    # and writes NaN/Infinity as the tokens a careless client sends.
    body = json.dumps({"query": MUTATIONS[name], "variables": {"input": data}})
    headers = {**gateway.headers, "Content-Type": "application/json"}
    return httpx.post(f"{gateway.url}/graphql", content=body, headers=headers, timeout=60)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_no_mutation_input_makes_an_internal_server_error(own_gateway: RunningGateway, ids: DemoIds, name: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=inputs(fields_of(name, ids)))
    def check(data: dict[str, Any]) -> None:
        response = send(own_gateway, name, data)
        assert response.status_code < 500, response.text
        body = response.json()
        codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, (data, body)
        payload = (body.get("data") or {}).get(name) or {}
        assert all(error["code"] != "INTERNAL_SERVER_ERROR" for error in payload.get("errors") or []), (data, body)

    check()
