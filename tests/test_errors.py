"""Bad requests get clear errors with a stable code; never a 500, never a stack trace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import RunningGateway

BOOKINGS_AFTER = "query($after: String) { bookings(first: 2, after: $after) { nodes { id } } }"
BOOKINGS_FILTERED = "query($filter: BookingFilterInput) { bookings(first: 2, filter: $filter) { nodes { id } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


def _error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def _no_internals(body: dict[str, Any]) -> None:
    text = str(body)
    assert "Traceback" not in text and 'File "' not in text and "sqlalchemy" not in text.lower()


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ4IjoxfQ", "WyJuYW1lIixbIkEiLCJCIiwiQyJdXQ"])
def test_a_cursor_the_api_did_not_issue_is_invalid_cursor(gateway: RunningGateway, cursor: str) -> None:
    body = gateway.graphql(BOOKINGS_AFTER, {"after": cursor})
    assert body["data"] is None
    assert _error_codes(body) == ["INVALID_CURSOR"]
    _no_internals(body)


def test_an_unknown_id_is_not_found(gateway: RunningGateway) -> None:
    body = gateway.graphql(NODE, {"id": "Booking:bkg_does_not_exist"})
    assert body["data"] == {"node": None}
    assert _error_codes(body) == ["NOT_FOUND"]


def test_a_malformed_id_is_invalid_id(gateway: RunningGateway) -> None:
    body = gateway.graphql(NODE, {"id": "12345"})
    assert _error_codes(body) == ["INVALID_ID"]


# A field taking one type's ids, what a malformed id there is told ids look like, and where real ones are.
TYPED_ID_FIELDS = {
    "customer": ("query($id: ID!) { customer(id: $id) { id } }", "'Customer:cus_…'", "customers"),
    "booking": ("query($id: ID!) { booking(id: $id) { id } }", "'Booking:bkg_…'", "bookings"),
    "location": ("query($id: ID!) { location(id: $id) { id } }", "'Location:manchester-central'", "locations"),
    "syncJob": ("query($id: ID!) { syncJob(id: $id) { id } }", "'SyncJob:job_…'", "syncJobs"),
    "resourceId": (
        "query($id: ID) { bookings(first: 1, filter: {resourceId: $id}) { totalCount } }",
        "'Resource:res_…'",
        "resources",
    ),
    "serviceId": (
        'query($id: ID) { availability(input: {serviceId: $id, from: "2026-06-17T09:00:00Z", '
        'to: "2026-06-17T12:00:00Z"}) { totalSlots } }',
        "'Service:svc_…'",
        "services",
    ),
}


@pytest.mark.parametrize("field", TYPED_ID_FIELDS)
def test_a_malformed_id_is_told_what_an_id_of_the_type_the_field_takes_looks_like(
    gateway: RunningGateway, field: str
) -> None:
    document, example, real_ones = TYPED_ID_FIELDS[field]
    body = gateway.graphql(document, {"id": "12345"})
    assert _error_codes(body) == ["INVALID_ID"]
    assert body["errors"][0]["message"] == f"'12345' is not a gateway id; ids look like {example}"
    # The example has the shape of the demo's real ids (a location's is one of them).
    shape = example.strip("'").removesuffix("…")
    real = gateway.graphql(f"{{ {real_ones}(first: 20) {{ nodes {{ id }} }} }}")["data"][real_ones]["nodes"]
    assert any(node["id"].startswith(shape) for node in real), real


def test_an_id_of_the_wrong_type_in_a_filter_is_invalid_id(gateway: RunningGateway) -> None:
    body = gateway.graphql(BOOKINGS_FILTERED, {"filter": {"customerId": "Location:manchester-central"}})
    assert _error_codes(body) == ["INVALID_ID"]


@pytest.mark.parametrize(
    "bad_filter",
    [
        {"startsAtOrAfter": "2026-12-01T00:00:00Z", "startsBefore": "2026-11-01T00:00:00Z"},
        {"startsAtOrAfter": "2026-12-01T00:00:00"},
        {"locationIds": ["Location:atlantis"]},
    ],
    ids=["reversed-range", "naive-time", "unknown-location"],
)
def test_a_bad_filter_is_invalid_input(gateway: RunningGateway, bad_filter: dict[str, Any]) -> None:
    body = gateway.graphql(BOOKINGS_FILTERED, {"filter": bad_filter})
    assert body["data"] is None
    assert _error_codes(body) == ["INVALID_INPUT"]
    assert body["errors"][0]["message"]


def test_a_page_larger_than_the_limit_is_invalid_input(gateway: RunningGateway) -> None:
    body = gateway.graphql("{ bookings(first: 100000) { nodes { id } } }")
    assert _error_codes(body) == ["INVALID_INPUT"]


def test_an_unknown_enum_value_fails_validation(gateway: RunningGateway) -> None:
    response = httpx.post(
        f"{gateway.url}/graphql",
        json={"query": "{ bookings(filter: {statuses: [EXPLODED]}) { nodes { id } } }"},
        headers=gateway.headers,
    )
    assert response.status_code < 500
    assert _error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_syntax_error_is_a_parse_failure(gateway: RunningGateway) -> None:
    response = httpx.post(f"{gateway.url}/graphql", json={"query": "{ bookings( "}, headers=gateway.headers)
    assert response.status_code < 500
    assert _error_codes(response.json()) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"query": 42}', b'{"variables": {}}', b"\xff\xfe"],
    ids=["broken-json", "array", "query-not-string", "no-query", "binary"],
)
def test_a_malformed_request_is_a_client_error(gateway: RunningGateway, content: bytes) -> None:
    response = httpx.post(
        f"{gateway.url}/graphql", content=content, headers={"content-type": "application/json", **gateway.headers}
    )
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def test_too_deep_a_query_is_refused(gateway: RunningGateway) -> None:
    deep = "{ bookings { nodes { customer { bookings { nodes { customer { bookings { nodes { customer {"
    deep += " bookings { nodes { customer { bookings { nodes { id } } } } } } } } } } } } } } }"
    body = httpx.post(f"{gateway.url}/graphql", json={"query": deep}, headers=gateway.headers).json()
    assert body["errors"] and "depth" in body["errors"][0]["message"]
