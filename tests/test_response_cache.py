"""The response cache: repeated queries answered from memory, never stale after a write, never shared across scopes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_helpers import customer_known_at, free_slot, wait_for
from sqlalchemy import update
from test_replicas import book, free_slots, start_replica, stop_replica
from test_role_matrix import CALLERS, Callers, Introspected, _document, _query_arguments, callers, introspected

from bench.queries import DASHBOARD_QUERY
from conftest import RunningGateway, SqlStatementCounter, ThrowawayPostgres, start_gateway, stop_gateway
from identity.principal import Role
from resolvers.rate_limit import TokenBuckets
from resolvers.response_cache import ResponseCache
from settings import RateLimit, Settings
from sources.cache.database import create_engine
from sources.cache.models import Location

__all__ = ["callers", "introspected"]  # the role matrix's fixtures, over this module's gateway

HOME = "manchester-central"

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } outcomes { status } errors { code message } }
}
"""

BOOKING_IDS = "query Ids($first: Int!) { bookings(first: $first) { totalCount nodes { id } } }"
BOOKINGS_FRESH = "query Fresh { bookings(first: 5, maxAge: 100000) { totalCount } }"
LOCATIONS = "query Locations { locations { totalCount } }"
NAME_AND_COUNT = """
query NameAndCount($id: ID!) { location(id: $id) { name } bookings(first: 1) { totalCount } }
"""


@pytest.fixture(scope="module")
def gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A gateway of its own (both backends) whose heartbeat and scheduler do not write while the tests read: their
    commits void the cache, which the tests below would see as misses."""
    settings = Settings(database_url=own_database_url, demo_network=True, sync_scheduler=False, heartbeat_seconds=3600)
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture
def sql_statements(gateway: RunningGateway) -> Iterator[SqlStatementCounter]:
    from sqlalchemy import event

    counter = SqlStatementCounter(gateway.engine)
    try:
        yield counter
    finally:
        event.remove(gateway.engine.sync_engine, "before_cursor_execute", counter._on_execute)


def cache_of(gateway: RunningGateway) -> ResponseCache:
    cache: ResponseCache | None = gateway.app.state.services.response_cache
    assert cache is not None, "the response cache is on by default"
    return cache


@contextmanager
def cache_off(gateway: RunningGateway) -> Iterator[None]:
    services = gateway.app.state.services
    cache, services.response_cache = services.response_cache, None
    try:
        yield
    finally:
        services.response_cache = cache


def answered_from_cache(
    gateway: RunningGateway,
    counter: SqlStatementCounter,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The answer of a repeat that ran no SQL statement. Repeated a few times: a background commit (the heartbeat
    at start) between two requests voids the first answer, and the next one is stored again."""
    for _ in range(10):
        gateway.graphql(query, variables, headers=headers)
        counter.reset()
        answer = gateway.graphql(query, variables, headers=headers)
        if counter.count == 0:
            return answer
    raise AssertionError(f"the repeated query always ran SQL: {query}")


def without_freshness(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "extensions"}


def token(gateway: RunningGateway, role: Role, **claims: Any) -> dict[str, str]:
    issued = gateway.run(gateway.app.state.authenticator.issue(role, subject=f"cache-{uuid.uuid4().hex[:8]}", **claims))
    return {"Authorization": f"Bearer {issued}"}


def test_a_repeated_dashboard_query_is_answered_without_sql_and_with_its_freshness(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    with cache_off(gateway):
        cold = gateway.graphql(DASHBOARD_QUERY, {"first": 50})
    hits = cache_of(gateway).hits
    warm = answered_from_cache(gateway, sql_statements, DASHBOARD_QUERY, {"first": 50})

    assert cache_of(gateway).hits > hits
    assert "errors" not in warm
    assert warm["data"] == cold["data"]
    cold_freshness, warm_freshness = cold["extensions"]["freshness"], warm["extensions"]["freshness"]
    assert cold_freshness.keys() == warm_freshness.keys()
    for location_id, data in warm_freshness.items():
        for kind, entry in data.items():
            before = cold_freshness[location_id][kind]
            assert {**entry, "ageSeconds": None} == {**before, "ageSeconds": None}
            if entry["ageSeconds"] is not None:
                assert entry["ageSeconds"] >= before["ageSeconds"]  # rendered again on every hit


def test_create_booking_then_the_dashboard_query_shows_the_booking(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    before = answered_from_cache(gateway, sql_statements, DASHBOARD_QUERY, {"first": 50})
    slot = free_slot(gateway, HOME, days_ahead=400)  # later than any demo booking: first in START_AT_DESC
    created = gateway.graphql(
        CREATE_BOOKING,
        {
            "input": {
                "idempotencyKey": uuid.uuid4().hex,
                "serviceId": f"Service:{slot.service_id}",
                "startAt": slot.start_at.isoformat(),
                "resourceId": f"Resource:{slot.resource_id}",
                "customerId": f"Customer:{customer_known_at(gateway, HOME)}",
            }
        },
    )["data"]["createBooking"]
    assert created["errors"] == [], created

    after = gateway.graphql(DASHBOARD_QUERY, {"first": 50})["data"]["bookings"]
    assert after["totalCount"] == before["data"]["bookings"]["totalCount"] + 1
    assert after["edges"][0]["node"]["id"] == created["booking"]["id"]


def test_a_location_manager_and_an_admin_never_share_an_answer(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    manager = token(gateway, Role.LOCATION_MANAGER, locations=[HOME])
    colleague = token(gateway, Role.LOCATION_MANAGER, locations=[HOME])  # before: issuing commits, and voids
    variables = {"first": 500}
    managers = answered_from_cache(gateway, sql_statements, BOOKING_IDS, variables, headers=manager)
    admins = answered_from_cache(gateway, sql_statements, BOOKING_IDS, variables)
    with cache_off(gateway):
        managers_cold = gateway.graphql(BOOKING_IDS, variables, headers=manager)
        admins_cold = gateway.graphql(BOOKING_IDS, variables)

    assert managers["data"] == managers_cold["data"] and admins["data"] == admins_cold["data"]
    assert managers["data"]["bookings"]["totalCount"] < admins["data"]["bookings"]["totalCount"]
    # Another manager of the same location sees what the first one sees: the key is the visibility, not the token.
    sql_statements.reset()
    assert without_freshness(gateway.graphql(BOOKING_IDS, variables, headers=colleague)) == without_freshness(managers)
    assert sql_statements.count == 0


def test_max_age_reads_bypass_the_cache(gateway: RunningGateway, sql_statements: SqlStatementCounter) -> None:
    cache = cache_of(gateway)
    stores = cache.stores
    for _ in range(3):
        sql_statements.reset()
        answer = gateway.graphql(BOOKINGS_FRESH)
        assert "errors" not in answer, answer
        assert sql_statements.count > 0
    assert cache.stores == stores


def test_answers_from_the_cache_spend_the_callers_rate_limit(gateway: RunningGateway) -> None:
    services = gateway.app.state.services
    headers = {**token(gateway, Role.FRANCHISEE, locations=[HOME]), "Accept": "application/graphql-response+json"}
    limits, services.rate_limits = services.rate_limits, TokenBuckets({"franchisee": RateLimit(per_minute=1, burst=3)})
    try:
        hits = cache_of(gateway).hits
        answers = [
            httpx.post(f"{gateway.url}/graphql", json={"query": LOCATIONS}, headers=headers, timeout=30)
            for _ in range(4)
        ]
    finally:
        services.rate_limits = limits

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert cache_of(gateway).hits - hits >= 2  # the 2nd and 3rd were hits, and each took a token
    assert answers[1].json() == answers[0].json()
    assert answers[3].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "Retry-After" in answers[3].headers


@pytest.mark.parametrize("role", CALLERS, ids=lambda role: role.value)
def test_the_role_matrix_answers_the_same_with_the_cache_on_and_off(
    gateway: RunningGateway, callers: Callers, introspected: Introspected, role: Role
) -> None:
    """Every root query field as every role: asked twice with the cache on (the second a hit where the answer may
    be kept), then with it off; the three answers equal."""
    services = gateway.app.state.services
    hits = cache_of(gateway).hits
    limits, services.rate_limits = services.rate_limits, None  # three calls per field: more than the public's
    try:
        answers = _matrix_answers(gateway, callers, introspected, role)
    finally:
        services.rate_limits = limits
    for name, (on, off) in answers.items():
        assert without_freshness(on[0]) == without_freshness(on[1]) == without_freshness(off), (
            f"Query.{name} as {role.value}"
        )
    if role is not Role.ANONYMOUS:
        assert cache_of(gateway).hits > hits  # the cache answered some of them


def _matrix_answers(
    gateway: RunningGateway, callers: Callers, introspected: Introspected, role: Role
) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    answers = {}
    for field in introspected.of("query"):
        arguments = _query_arguments(field, callers.demo)
        document = _document(field, arguments, introspected)
        on = [gateway.graphql(document, arguments, headers=callers.headers(role)) for _ in range(2)]
        with cache_off(gateway):
            off = gateway.graphql(document, arguments, headers=callers.headers(role))
        answers[field.name] = (on, off)
    return answers


def test_an_event_from_another_replica_voids_this_replica_s_answers(tmp_path: Path) -> None:
    """Two gateway processes on one PostgreSQL database: a booking made through the first voids the second's
    stored answers (its NOTIFY reaches the second), which then read the database again."""
    database = ThrowawayPostgres()
    database.create()
    quiet = {"GATEWAY_HEARTBEAT_SECONDS": "3600", "GATEWAY_SYNC_SCHEDULER": "false"}
    first = second = None
    try:
        first = start_replica(database.url, tmp_path / "first.log", **quiet)
        second = start_replica(
            database.url,
            tmp_path / "second.log",
            GATEWAY_SIMULATE_LOCATIONS="false",
            GATEWAY_DEMO_NETWORK="false",
            **quiet,
        )
        variables = {"id": f"Location:{HOME}"}
        # A rename behind every gateway's back (no commit through them, no event) shows the second one answers
        # from its cache; retried in case a start-up commit voided the answer in between.
        for attempt in range(10):
            stored = second.graphql(NAME_AND_COUNT, variables)
            renamed = f"Renamed {attempt}"
            asyncio.run(_rename(database.url, HOME, renamed))
            if second.graphql(NAME_AND_COUNT, variables) == stored:
                break
        else:
            raise AssertionError("the second replica never answered from its cache")

        customer = customer_of(first)
        ((service, slot),) = free_slots(first, HOME, 1)
        book(first, service, slot, customer)

        def voided() -> bool:
            answer = second.graphql(NAME_AND_COUNT, variables)
            return answer == {
                "location": {"name": renamed},
                "bookings": {"totalCount": stored["bookings"]["totalCount"] + 1},
            }

        wait_for(voided, seconds=15, what="the second replica to read the booking made through the first")
    finally:
        for replica in (second, first):
            if replica is not None:
                stop_replica(replica)
        database.drop()


CUSTOMER_AT = "query Customers($id: ID!) { customers(first: 1, filter: {locationIds: [$id]}) { nodes { id } } }"


def customer_of(replica: Any) -> str:
    nodes = replica.graphql(CUSTOMER_AT, {"id": f"Location:{HOME}"})["customers"]["nodes"]
    return str(nodes[0]["id"]).removeprefix("Customer:")


async def _rename(database_url: str, location_id: str, name: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Location).where(Location.id == location_id).values(name=name))
    finally:
        await engine.dispose()
