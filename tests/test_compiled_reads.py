"""The compiled read path answers exactly what the ordinary execution answers, for every role, in fewer statements.

Two gateways share one cache: one with the compiled read path (the default), one with it off
(`compiled_reads=False`, every field executed). Every document below is sent to both by every role and the
whole answers compared — data, errors and extensions (the freshness report's ages aside, which grow
between the two requests).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench.queries import DASHBOARD_QUERY
from bench.report import first_difference
from conftest import RunningGateway, SqlStatementCounter, start_gateway, stop_gateway
from identity.principal import Role
from settings import Settings

MANCHESTER = "manchester-central"

EVERY_FIELD_QUERY = """
query EveryField($first: Int, $sort: BookingSort) {
  bookings(first: $first, sort: $sort) {
    __typename
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes {
      __typename id networkId localId status startAt endAt notes isCrossLocation version createdAt updatedAt
      price { amount currency minorUnits }
      customer {
        __typename id networkId firstName lastName fullName createdAt updatedAt
        primaryLocation {
          id networkId name kind status isHub town timezone currency taxRatePercent commissionRatePercent baseUrl
        }
      }
      service {
        id networkId localId name category description durationMinutes isActive
        price { amount currency minorUnits }
        location { id name }
      }
      resource { id networkId localId kind name title capacity isActive location { name } }
      serviceLocation { id name }
      originatingLocation { id name kind }
      revenueSplit {
        role sharePercent paymentStatus paidAt
        amount { amount currency } commission { amount minorUnits } tax { amount } net { amount currency }
        location { id }
      }
    }
  }
}
"""

CUSTOMERS_WITH_HISTORY_QUERY = """
query Histories($customers: Int, $bookings: Int, $sort: BookingSort, $after: String) {
  customers(first: $customers, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id fullName createdAt
        primaryLocation { id name }
        bookings(first: $bookings, sort: $sort) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          nodes { id status startAt price { amount currency } service { name } revenueSplit { role } }
        }
        latest: bookings(first: 1) { edges { cursor node { id } } }
      }
    }
  }
}
"""

CONTACT_DATA_QUERY = """
query Contacts { bookings(first: 15) { edges { node { id customer { fullName email phone } } } } }
"""

ALIASES_AND_FRAGMENTS_QUERY = """
query Shapes($after: String) {
  latest: bookings(first: 4, sort: CREATED_AT_DESC) { edges { ...Edge } }
  page: bookings(first: 3, after: $after) { total: totalCount edges { cursor node { ... on Booking { id } } } }
}
fragment Edge on BookingEdge { cursor node { ...Ids } }
fragment Ids on Booking { id startAt }
"""

# Not compiled (a filter, a backward page, maxAge, a field outside the compiler): both answer the ordinary way.
ORDINARY_ONLY_QUERY = """
query Ordinary {
  filtered: bookings(first: 5, filter: {statuses: [CONFIRMED]}) { totalCount nodes { id durationMinutes } }
  backward: bookings(last: 2) { nodes { id } }
  bounded: bookings(first: 2, maxAge: 3600) { nodes { id } }
}
"""

BAD_PAGE_QUERY = """
query BadPage($first: Int, $after: String) { bookings(first: $first, after: $after) { nodes { id } } }
"""


@dataclass
class Pair:
    compiled: RunningGateway
    ordinary: RunningGateway
    tokens: dict[str, str | None]

    def both(self, role: str, query: str, variables: dict[str, Any] | None = None) -> tuple[Any, Any]:
        token = self.tokens[role]
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        answers = []
        for gateway in (self.compiled, self.ordinary):
            response = httpx.post(
                f"{gateway.url}/graphql",
                json={"query": query, "variables": variables or {}},
                headers=headers,
                timeout=60,
            )
            answers.append([response.status_code, _without_ages(response.json())])
        return answers[0], answers[1]


def _without_ages(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for entries in body.get("extensions", {}).get("freshness", {}).values():
        for entry in entries.values():
            entry.pop("ageSeconds", None)
            entry.pop("refreshedAt", None)  # each gateway keeps its own refresh times
    return body


@pytest.fixture(scope="module")
def pair(own_database_url: str) -> Iterator[Pair]:
    # The response cache off on both: each request is executed, compiled or field by field.
    shared: dict[str, Any] = {"database_url": own_database_url, "demo_network": True, "sync_scheduler": False}
    compiled = start_gateway(Settings(**shared, response_cache=False))
    ordinary = start_gateway(Settings(**shared, response_cache=False, compiled_reads=False))
    try:
        tokens = _tokens(compiled)
        yield Pair(compiled, ordinary, tokens)
    finally:
        stop_gateway(ordinary)
        stop_gateway(compiled)


def _tokens(gateway: RunningGateway) -> dict[str, str | None]:
    async def pick() -> tuple[str, str]:
        async with gateway.engine.connect() as connection:
            staff = (
                await connection.execute(
                    text(
                        "SELECT resource_id FROM bookings WHERE service_location_id = :at AND resource_id IS NOT NULL "
                        "GROUP BY resource_id ORDER BY count(*) DESC, resource_id LIMIT 1"
                    ),
                    {"at": MANCHESTER},
                )
            ).scalar_one()
            customer = (
                await connection.execute(
                    text(
                        "SELECT customer_id FROM bookings GROUP BY customer_id"
                        " ORDER BY count(*) DESC, customer_id LIMIT 1"
                    )
                )
            ).scalar_one()
        return staff, customer

    staff, customer = gateway.run(pick())
    issue = gateway.app.state.authenticator.issue
    claims: dict[Role, dict[str, Any]] = {
        Role.NETWORK_ADMIN: {},
        Role.LOCATION_MANAGER: {"locations": [MANCHESTER]},
        Role.FRANCHISEE: {"locations": [MANCHESTER]},
        Role.SHARED_STAFF: {"locations": [MANCHESTER], "resource_id": staff},
        Role.CUSTOMER: {"customer_id": customer},
    }
    tokens: dict[str, str | None] = {
        role.value: gateway.run(issue(role, subject=f"compiled-{role.value}", **extra))
        for role, extra in claims.items()
    }
    tokens["anonymous"] = None
    return tokens


ROLES = ["network_admin", "location_manager", "franchisee", "shared_staff", "customer", "anonymous"]


@pytest.mark.parametrize("role", ROLES)
def test_the_dashboard_query_answers_the_same_compiled_and_executed(pair: Pair, role: str) -> None:
    for first in (1, 10, 50):
        compiled, ordinary = pair.both(role, DASHBOARD_QUERY, {"first": first})
        assert compiled == ordinary, first_difference(compiled, ordinary)


@pytest.mark.parametrize("role", ROLES)
def test_every_compiled_field_answers_the_same_compiled_and_executed(pair: Pair, role: str) -> None:
    for sort in ("START_AT_ASC", "START_AT_DESC", "CREATED_AT_DESC"):
        compiled, ordinary = pair.both(role, EVERY_FIELD_QUERY, {"first": 40, "sort": sort})
        assert compiled == ordinary, first_difference(compiled, ordinary)


@pytest.mark.parametrize("role", ROLES)
def test_customers_with_their_booking_histories_answer_the_same(pair: Pair, role: str) -> None:
    compiled, ordinary = pair.both(role, CUSTOMERS_WITH_HISTORY_QUERY, {"customers": 12, "bookings": 5})
    assert compiled == ordinary, first_difference(compiled, ordinary)
    if role != "anonymous" and compiled[1].get("data"):
        after = compiled[1]["data"]["customers"]["pageInfo"]["endCursor"]
        variables = {"customers": 7, "bookings": 3, "sort": "CREATED_AT_DESC", "after": after}
        compiled, ordinary = pair.both(role, CUSTOMERS_WITH_HISTORY_QUERY, variables)
        assert compiled == ordinary, first_difference(compiled, ordinary)


@pytest.mark.parametrize("role", ROLES)
def test_contact_data_is_refused_to_staff_on_both_paths(pair: Pair, role: str) -> None:
    compiled, ordinary = pair.both(role, CONTACT_DATA_QUERY)
    assert compiled == ordinary, first_difference(compiled, ordinary)
    if role == "shared_staff":
        assert {error["extensions"]["code"] for error in compiled[1]["errors"]} == {"FORBIDDEN"}


@pytest.mark.parametrize("role", ["network_admin", "location_manager", "customer"])
def test_aliases_fragments_and_a_second_page_answer_the_same(pair: Pair, role: str) -> None:
    compiled, ordinary = pair.both(role, ALIASES_AND_FRAGMENTS_QUERY)
    assert compiled == ordinary, first_difference(compiled, ordinary)
    edges = compiled[1]["data"]["page"]["edges"]
    if edges:
        compiled, ordinary = pair.both(role, ALIASES_AND_FRAGMENTS_QUERY, {"after": edges[-1]["cursor"]})
        assert compiled == ordinary, first_difference(compiled, ordinary)
        assert compiled[1]["data"]["page"]["edges"] != edges


def test_queries_the_compiler_does_not_cover_answer_the_same(pair: Pair) -> None:
    for role in ("network_admin", "location_manager"):
        compiled, ordinary = pair.both(role, ORDINARY_ONLY_QUERY)
        assert compiled == ordinary, first_difference(compiled, ordinary)


@pytest.mark.parametrize(
    "variables",
    [{"first": 501}, {"first": -1}, {"first": 2, "after": "not-a-cursor"}, {"first": "two"}, {"first": 0}],
)
def test_bad_page_arguments_get_the_same_errors(pair: Pair, variables: dict[str, Any]) -> None:
    compiled, ordinary = pair.both("network_admin", BAD_PAGE_QUERY, variables)
    assert compiled == ordinary, first_difference(compiled, ordinary)


def _statements(gateway: RunningGateway, token: str | None, query: str, variables: dict[str, Any]) -> int:
    counter = SqlStatementCounter(gateway.engine)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = httpx.post(
        f"{gateway.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=60
    )
    assert "errors" not in response.json()
    return counter.count


# Shared staff may not see the email the dashboard asks for: their request is executed (FORBIDDEN in place).
@pytest.mark.parametrize("role", ["network_admin", "location_manager", "franchisee", "customer"])
def test_the_dashboard_query_is_one_statement_whatever_the_page_size(pair: Pair, role: str) -> None:
    token = pair.tokens[role]
    counts = {first: _statements(pair.compiled, token, DASHBOARD_QUERY, {"first": first}) for first in (10, 200)}
    assert counts == {10: 1, 200: 1}
    histories = {
        size: _statements(pair.compiled, token, CUSTOMERS_WITH_HISTORY_QUERY, {"customers": size, "bookings": 3})
        for size in (10, 200)
    }
    assert histories == {10: 1, 200: 1}
    ordinary = _statements(pair.ordinary, token, DASHBOARD_QUERY, {"first": 10})
    assert ordinary > 2  # the executed path batches per relation: the compiled path is what makes it one
