"""The compiled lane (schema/compiled/lane.py): a query text the compiled read path answered is answered again by
the HTTP view itself, with the limits, metrics and answers of the ordinary way, and one rate-limit token each."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from metrics_helpers import moved, scrape
from sqlalchemy import text
from starlette.routing import Route

from bench.queries import DASHBOARD_QUERY
from conftest import RunningGateway, start_gateway, stop_gateway
from identity.principal import Role
from resolvers.rate_limit import TokenBuckets
from schema import build_schema
from schema.compiled.lane import CompiledLane
from settings import RateLimit, Settings

MANCHESTER = "manchester-central"
CONTACTS_QUERY = """
query LaneContacts { bookings(first: 5) { edges { node { id customer { fullName email } } } } }
"""
PAGE_QUERY = """
query LanePage($first: Int) { bookings(first: $first) { totalCount nodes { id startAt } } }
"""
TWO_OPERATIONS_QUERY = """
query LaneOne { bookings(first: 2) { nodes { id } } }
query LaneTwo { customers(first: 2) { nodes { id } } }
"""
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def gateway(own_database_url: str) -> Iterator[RunningGateway]:
    # The response cache off: a repeated request is answered again (by the lane), not from memory. A cost limit
    # the dashboard with 50 rows passes and 500 rows does not.
    running = start_gateway(
        Settings(
            database_url=own_database_url,
            demo_network=True,
            sync_scheduler=False,
            response_cache=False,
            max_query_cost=30_000,
        )
    )
    try:
        yield running
    finally:
        stop_gateway(running)


def lane_of(gateway: RunningGateway) -> CompiledLane:
    view: Any = next(
        route.endpoint for route in gateway.app.routes if isinstance(route, Route) and route.path == "/graphql"
    )
    lane: CompiledLane = view.schema.compiled_lane
    return lane


def bearer(gateway: RunningGateway, role: Role, subject: str, **claims: Any) -> dict[str, str]:
    issued = gateway.run(gateway.app.state.authenticator.issue(role, subject=subject, **claims))
    return {"Authorization": f"Bearer {issued}", "Accept": GRAPHQL_RESPONSE}


def post(gateway: RunningGateway, headers: dict[str, str], query: str, **variables: Any) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=60
    )


def without_ages(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for entries in body.get("extensions", {}).get("freshness", {}).values():
        for entry in entries.values():
            entry.pop("ageSeconds", None)
    return body


def with_limit(gateway: RunningGateway, role: str, burst: int) -> TokenBuckets | None:
    services = gateway.app.state.services
    limits: TokenBuckets | None = services.rate_limits
    services.rate_limits = TokenBuckets({role: RateLimit(per_minute=1, burst=burst)})
    return limits


def test_a_repeated_query_is_answered_by_the_lane_with_the_same_answer(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    answered = lane_of(gateway).answered
    first = post(gateway, headers, DASHBOARD_QUERY, first=50)
    again = [post(gateway, headers, DASHBOARD_QUERY, first=50) for _ in range(2)]

    assert lane_of(gateway).answered - answered == 2
    assert [response.status_code for response in (first, *again)] == [200, 200, 200]
    assert first.headers["content-type"] == again[0].headers["content-type"]
    assert "errors" not in first.json() and len(first.json()["data"]["bookings"]["edges"]) == 50
    assert all(without_ages(response.json()) == without_ages(first.json()) for response in again)
    assert first.json()["extensions"]["freshness"]  # the lane reports where the data came from too


def test_lane_answers_spend_one_token_each(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.FRANCHISEE, "lane-franchisee", locations=[MANCHESTER])
    limits = with_limit(gateway, "franchisee", burst=3)
    try:
        answers = [post(gateway, headers, PAGE_QUERY, first=5) for _ in range(4)]
    finally:
        gateway.app.state.services.rate_limits = limits

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "Retry-After" in answers[3].headers


def test_a_request_the_lane_sends_the_ordinary_way_spends_no_second_token(gateway: RunningGateway) -> None:
    """Shared staff may not read customers' email: the lane, having taken the token, sends the request on, and
    the ordinary execution answers the FORBIDDEN error in place without taking another."""
    admin = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    assert "errors" not in post(gateway, admin, CONTACTS_QUERY).json()  # now remembered by the lane
    staff = gateway.run(_staff_headers(gateway))
    limits = with_limit(gateway, "shared_staff", burst=2)
    try:
        answers = [post(gateway, staff, CONTACTS_QUERY) for _ in range(3)]
    finally:
        gateway.app.state.services.rate_limits = limits

    codes = [answer.json()["errors"][0]["extensions"]["code"] for answer in answers]
    assert codes == ["FORBIDDEN", "FORBIDDEN", "RATE_LIMITED"]


async def _staff_headers(gateway: RunningGateway) -> dict[str, str]:
    async with gateway.engine.connect() as connection:
        staff = (
            await connection.execute(
                text("SELECT resource_id FROM bookings WHERE service_location_id = :at AND resource_id IS NOT NULL"),
                {"at": MANCHESTER},
            )
        ).first()
    assert staff is not None
    issued = await gateway.app.state.authenticator.issue(
        Role.SHARED_STAFF, subject="lane-staff", locations=[MANCHESTER], resource_id=staff[0]
    )
    return {"Authorization": f"Bearer {issued}", "Accept": GRAPHQL_RESPONSE}


def test_variables_over_the_cost_limit_are_refused_as_ever(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    assert "errors" not in post(gateway, headers, DASHBOARD_QUERY, first=10).json()
    refused = post(gateway, headers, DASHBOARD_QUERY, first=500)

    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == 30_000


def test_bad_variables_for_a_remembered_text_get_the_ordinary_errors(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    assert "errors" not in post(gateway, headers, PAGE_QUERY, first=3).json()
    wrong_type = post(gateway, headers, PAGE_QUERY, first="three")
    too_big = post(gateway, headers, PAGE_QUERY, first=100_000)

    # Variables that do not coerce are a request error (no data); a page over the bounds the field's own error.
    assert wrong_type.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in wrong_type.json()
    assert too_big.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT", too_big.json()


def test_naming_an_operation_the_document_lacks_is_an_error_however_often_asked(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    for _ in range(2):
        body = {"query": PAGE_QUERY, "operationName": "NotThere", "variables": {"first": 2}}
        answer = httpx.post(f"{gateway.url}/graphql", json=body, headers=headers, timeout=60)
        assert answer.status_code == 400
        assert "NotThere" in answer.json()["errors"][0]["message"]


def test_a_document_of_two_operations_is_never_taken_by_the_lane(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    answered = lane_of(gateway).answered
    for name, root in (("LaneOne", "bookings"), ("LaneTwo", "customers"), ("LaneOne", "bookings")):
        body = {"query": TWO_OPERATIONS_QUERY, "operationName": name}
        answer = httpx.post(f"{gateway.url}/graphql", json=body, headers=headers, timeout=60).json()
        assert list(answer["data"]) == [root]
    assert lane_of(gateway).answered == answered


def test_lane_answers_are_counted_by_operation_name(gateway: RunningGateway) -> None:
    headers = bearer(gateway, Role.NETWORK_ADMIN, "lane-admin")
    post(gateway, headers, PAGE_QUERY, first=4)
    before = scrape(gateway)
    for _ in range(3):
        assert "errors" not in post(gateway, headers, PAGE_QUERY, first=4).json()
    after = scrape(gateway)

    assert moved(before, after, "gateway_graphql_requests_total", operation="LanePage", outcome="ok") == 3


def test_every_schema_the_settings_can_build_keeps_the_lane() -> None:
    """The lane stands in for the extensions it knows (schema.LANE_KNOWS); a schema with any other runs without it,
    so a new extension has to be taught to the lane before repeated compiled queries skip it."""
    for schema in (
        build_schema(),
        build_schema(introspection=False, max_query_cost=None, heavy_query_cost=0),
        build_schema(max_query_cost=1_000, heavy_query_cost=500),
    ):
        assert isinstance(schema.compiled_lane, CompiledLane)  # type: ignore[attr-defined]
