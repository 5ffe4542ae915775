"""GraphQL over HTTP as its spec says, for both media types: graphql-http's audit of the running gateway, and
each rule the gateway adds to it (schema/http_rules.py) tried as a client would."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from node_clients import CLIENTS, run_node
from sqlalchemy import func, select

from conftest import RunningGateway
from identity.principal import Role
from sources.cache.models import StockLevel, StockMovement

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

TYPENAME = "{ __typename }"
LOCATIONS = "{ locations { totalCount } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
ADJUST_STOCK = """
mutation Adjust($input: AdjustStockInput!) { adjustStock(input: $input) { stockLevel { quantity } errors { code } } }
"""
SYNC_EVENTS = "subscription Events { syncEvents { __typename } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
OUTBOX = "{ outboxMessages(first: 1) { id } }"
# Deeper than the depth limit (12), and cheap (pages of one), so only the depth refuses it.
TOO_DEEP = """
{ bookings(first: 1) { nodes { customer { bookings(first: 1) { nodes { customer { bookings(first: 1) { nodes {
  customer { bookings(first: 1) { nodes { customer { bookings(first: 1) { nodes { id } } } } } } } } } } } } } } }
"""
# The same operation as tests/test_limits.py's THREE_LEVELS, the one its check of documented costs expects refused.
TOO_COSTLY = """
{ customers(first: 500) { nodes { bookings(first: 500) { nodes { customer {
  bookings(first: 500) { nodes { id } } } } } } } }
"""

# (document, variables, operation name, code): errors before anything executes.
REQUEST_ERRORS = {
    "parse": ("{ locations {", None, None, "GRAPHQL_PARSE_FAILED"),
    "validation": ("{ locations { noSuchField } }", None, None, "GRAPHQL_VALIDATION_FAILED"),
    "variable-coercion": (NODE, {"id": None}, None, "GRAPHQL_VALIDATION_FAILED"),
    "unknown-operation": (NODE, {"id": "Booking:x"}, "Other", "GRAPHQL_VALIDATION_FAILED"),
    "depth-limit": (TOO_DEEP, None, None, "GRAPHQL_VALIDATION_FAILED"),
    "cost-limit": (TOO_COSTLY, None, None, "QUERY_TOO_COMPLEX"),
}


def _post(
    gateway: RunningGateway,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    accept: str | None = GRAPHQL_RESPONSE,
    headers: dict[str, str] | None = None,
    operation_name: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name is not None:
        body["operationName"] = operation_name
    with httpx.Client(timeout=60) as client:
        if accept is None:
            del client.headers["accept"]  # httpx sends */* unless told otherwise
        else:
            client.headers["accept"] = accept
        return client.post(f"{gateway.url}/graphql", json=body, headers=gateway.headers if headers is None else headers)


def _media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def _codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def test_the_graphql_over_http_audit_passes_every_check_for_both_media_types(gateway: RunningGateway) -> None:
    report = run_node(CLIENTS / "http_audit.mjs", f"{gateway.url}/graphql", gateway.admin_token)
    not_ok = [
        f"{audit['id']} {audit['name']}: {audit['status']}, {audit.get('reason')}"
        for audit in report
        if audit["status"] != "ok"
    ]
    assert not not_ok, "\n".join(not_ok)
    names = " ".join(audit["name"] for audit in report)
    assert len(report) >= 60 and f"accepting {JSON}" in names and f"accepting {GRAPHQL_RESPONSE}" in names


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE},{JSON};q=0.9", GRAPHQL_RESPONSE),  # what Apollo Client sends
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"*/*;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.2, application/*", JSON),
    ],
    ids=["none", "anything", "json", "graphql-response", "apollo-client", "json-first", "weighted", "wildcard-heavier"],
)
def test_the_answer_takes_the_media_type_the_accept_header_ranks_highest(
    gateway: RunningGateway, accept: str | None, media_type: str
) -> None:
    response = _post(gateway, LOCATIONS, accept=accept)
    assert response.status_code == 200
    assert _media_type(response) == media_type
    assert response.json()["data"]["locations"]["totalCount"] > 0


def test_an_accept_header_listing_neither_json_media_type_is_406(gateway: RunningGateway) -> None:
    response = _post(gateway, LOCATIONS, accept="text/plain, image/png")
    assert response.status_code == 406
    assert _codes(response) == ["NOT_ACCEPTABLE"]
    assert "data" not in response.json()


@pytest.mark.parametrize("case", list(REQUEST_ERRORS))
def test_a_request_error_is_400_without_data_under_graphql_response_json_and_200_under_json(
    gateway: RunningGateway, case: str
) -> None:
    document, variables, operation_name, code = REQUEST_ERRORS[case]
    strict = _post(gateway, document, variables, operation_name=operation_name)
    assert (strict.status_code, _media_type(strict)) == (400, GRAPHQL_RESPONSE)
    assert "data" not in strict.json()
    assert _codes(strict) == [code]
    legacy = _post(gateway, document, variables, accept=JSON, operation_name=operation_name)
    assert (legacy.status_code, _media_type(legacy)) == (200, JSON)
    assert _codes(legacy) == [code]


def test_a_field_error_keeps_200_and_the_partial_data_under_graphql_response_json(gateway: RunningGateway) -> None:
    response = _post(gateway, '{ locations { totalCount } node(id: "Booking:bkg_nowhere") { id } }')
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["locations"]["totalCount"] > 0 and body["data"]["node"] is None
    assert _codes(response) == ["NOT_FOUND"]


def test_a_field_the_callers_role_may_not_read_is_a_field_error_not_an_http_refusal(gateway: RunningGateway) -> None:
    customer_id = gateway.graphql("{ customers(first: 1) { nodes { id } } }")["data"]["customers"]["nodes"][0]["id"]
    customer = _role_headers(gateway, Role.CUSTOMER, customer_id=customer_id.split(":", 1)[1])
    response = _post(gateway, OUTBOX, headers=customer)
    # A non-null root field: its error nulls `data`, which is still there; the operation did execute.
    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["data"] is None
    assert [error["path"] for error in body["errors"]] == [["outboxMessages"]]
    assert _codes(response) == ["FORBIDDEN"]


def test_anonymous_introspection_is_401_under_graphql_response_json(gateway: RunningGateway) -> None:
    strict = _post(gateway, INTROSPECTION, headers={})
    assert (strict.status_code, _codes(strict)) == (401, ["UNAUTHENTICATED"])
    assert "data" not in strict.json()
    assert _post(gateway, INTROSPECTION, headers={}, accept=JSON).status_code == 200


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_a_bad_token_is_401_in_the_negotiated_media_type(gateway: RunningGateway, accept: str) -> None:
    response = _post(gateway, TYPENAME, accept=accept, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert _media_type(response) == accept
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _codes(response) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"qeury": "{ __typename }"}', b'{"query": "{ __typename }", "operationName": 7}'],
    ids=["broken-json", "no-query", "operation-name-not-a-string"],
)
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_a_request_that_is_not_a_graphql_request_is_400_bad_request(
    gateway: RunningGateway, content: bytes, accept: str
) -> None:
    headers = {**gateway.headers, "content-type": JSON, "accept": accept}
    response = httpx.post(f"{gateway.url}/graphql", content=content, headers=headers, timeout=60)
    assert (response.status_code, _media_type(response)) == (400, accept)
    assert _codes(response) == ["BAD_REQUEST"]


def test_a_query_by_get_is_answered_in_the_negotiated_media_type(gateway: RunningGateway) -> None:
    response = httpx.get(
        f"{gateway.url}/graphql",
        params={"query": LOCATIONS},
        headers={**gateway.headers, "accept": GRAPHQL_RESPONSE},
        timeout=60,
    )
    assert (response.status_code, _media_type(response)) == (200, GRAPHQL_RESPONSE)
    assert response.json()["data"]["locations"]["totalCount"] > 0


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_subscription_by_plain_http_is_400_naming_the_transports_that_stream(
    gateway: RunningGateway, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**gateway.headers, "accept": JSON}
    with caplog.at_level(logging.WARNING):
        if method == "POST":
            response = httpx.post(f"{gateway.url}/graphql", json={"query": SYNC_EVENTS}, headers=headers, timeout=60)
        else:
            response = httpx.get(f"{gateway.url}/graphql", params={"query": SYNC_EVENTS}, headers=headers, timeout=60)
    assert (response.status_code, _media_type(response)) == (400, JSON)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SUBSCRIPTION_TRANSPORT_REQUIRED"
    assert "WebSocket to /graphql" in error["message"] and "graphql-transport-ws" in error["message"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]


def _role_headers(gateway: RunningGateway, role: Role, **claims: Any) -> dict[str, str]:
    issue = gateway.app.state.authenticator.issue
    token = gateway.run(issue(role, subject=f"http-rules-{role.value}", **claims))
    return {"Authorization": f"Bearer {token}"}


def _stock_at(gateway: RunningGateway, item_id: str, location_id: str) -> tuple[int, int, int]:
    """(quantity, version, movements) of one item at one location, as the cache has them."""

    async def read() -> tuple[int, int, int]:
        async with gateway.engine.connect() as connection:
            level = (
                await connection.execute(
                    select(StockLevel.quantity, StockLevel.version).where(
                        StockLevel.item_id == item_id, StockLevel.location_id == location_id
                    )
                )
            ).one()
            movements = await connection.scalar(
                select(func.count())
                .select_from(StockMovement)
                .where(StockMovement.item_id == item_id, StockMovement.location_id == location_id)
            )
        return level.quantity, level.version, int(movements or 0)

    return gateway.run(read())


def _a_stock_level(gateway: RunningGateway) -> tuple[str, str]:
    async def first() -> tuple[str, str]:
        async with gateway.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(StockLevel.item_id, StockLevel.location_id).order_by(StockLevel.id).limit(1)
                )
            ).one()
        return row.item_id, row.location_id

    return gateway.run(first())


def test_a_mutation_by_get_is_405_allow_post_and_writes_nothing_while_by_post_it_writes(
    live_gateway: RunningGateway,
) -> None:
    item_id, location_id = _a_stock_level(live_gateway)
    manager = _role_headers(live_gateway, Role.LOCATION_MANAGER, locations=[location_id])
    adjust = {
        "input": {
            "idempotencyKey": uuid.uuid4().hex,
            "itemId": f"StockItem:{item_id}",
            "locationId": f"Location:{location_id}",
            "delta": 1,
            "reason": "restock",
        }
    }
    before = _stock_at(live_gateway, item_id, location_id)
    for accept in (JSON, GRAPHQL_RESPONSE):
        refused = httpx.get(
            f"{live_gateway.url}/graphql",
            params={"query": ADJUST_STOCK, "variables": json.dumps(adjust)},
            headers={**manager, "accept": accept},
            timeout=60,
        )
        assert (refused.status_code, refused.headers["allow"], _media_type(refused)) == (405, "POST", accept)
        assert _codes(refused) == ["METHOD_NOT_ALLOWED"]
    not_acceptable = _post(live_gateway, ADJUST_STOCK, adjust, accept="text/html", headers=manager)
    assert not_acceptable.status_code == 406
    assert _stock_at(live_gateway, item_id, location_id) == before

    written = _post(live_gateway, ADJUST_STOCK, adjust, headers=manager)
    assert written.status_code == 200, written.text
    assert written.json()["data"]["adjustStock"]["errors"] == []
    quantity, version, movements = _stock_at(live_gateway, item_id, location_id)
    assert (quantity, movements) == (before[0] + 1, before[2] + 1) and version > before[1]
