"""The gateway composed into an Apollo supergraph with a second subgraph, and asked through @apollo/gateway.

tests/clients/supergraph.mjs starts a small "reviews" subgraph (@apollo/subgraph) that extends Booking by its
key, composes it with the gateway's `_service { sdl }` (@apollo/composition), and serves the supergraph with
@apollo/gateway, which forwards each caller's Authorization header and keeps the gateway's
`extensions.freshness`. One run per backend asks everything below; each test reads its answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from node_clients import CLIENTS, run_node
from sqlalchemy import select

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id
from sources.cache.models import Booking

A = "manchester-central"
B = "leeds-headingley"
FAR = 10**7  # a maxAge that never refreshes: the answers compared below read the same cache
SCRIPT = CLIENTS / "supergraph.mjs"

# The gateway's root field, with the reviews subgraph's field on each booking.
BOOKINGS_WITH_REVIEWS = f"""
query BookingsWithReviews($locations: [ID!]) {{
  bookings(first: 5, filter: {{ locationIds: $locations }}, maxAge: {FAR}) {{
    nodes {{ id status review {{ stars text }} }}
  }}
}}
"""

# The same, straight to the gateway (no reviews there).
BOOKINGS = f"""
query Bookings($locations: [ID!]) {{
  bookings(first: 5, filter: {{ locationIds: $locations }}, maxAge: {FAR}) {{ nodes {{ id status }} }}
}}
"""

# The reviews subgraph's root field, its bookings resolved back through the gateway's `_entities`.
REVIEWS_WITH_BOOKINGS = """
query ReviewsWithBookings {
  reviews {
    id stars
    booking { id startAt serviceLocation { networkId } originatingLocation { networkId } customer { fullName } }
  }
}
"""

BOOKINGS_BY_ID = """
query BookingsById($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Booking { id startAt serviceLocation { networkId } originatingLocation { networkId } customer { fullName } }
  }
}
"""

# Everything a location manager sees of the bookings, with the reviews subgraph's field.
MANAGER_BOOKINGS = f"""
query ManagerBookings {{
  bookings(first: 50, maxAge: {FAR}) {{
    totalCount
    nodes {{ id serviceLocation {{ networkId }} originatingLocation {{ networkId }} review {{ stars }} }}
  }}
}}
"""


@dataclass(frozen=True)
class Supergraph:
    composition: dict[str, list[str]]
    responses: dict[str, dict[str, Any]]
    reviewed: list[str]  # the global ids of the reviewed bookings: two at A, then one only at B
    direct: dict[str, dict[str, Any]]  # what the gateway itself answers, to compare with

    def body(self, name: str) -> dict[str, Any]:
        response = self.responses[name]
        assert response["status"] == 200, response
        body: dict[str, Any] = response["body"]
        return body


def _only_at_b(gateway: RunningGateway) -> str:
    async def fetch() -> str:
        statement = (
            select(Booking.id)
            .where(Booking.service_location_id == B, Booking.originating_location_id == B)
            .order_by(Booking.id)
            .limit(1)
        )
        async with gateway.engine.connect() as connection:
            return str((await connection.execute(statement)).scalar_one())

    return gateway.run(fetch())


@pytest.fixture(scope="module")
def supergraph(gateway: RunningGateway) -> Supergraph:
    issue = gateway.app.state.authenticator.issue
    manager = gateway.run(issue(Role.LOCATION_MANAGER, subject="supergraph-manager", locations=[A]))
    at_a = {"locations": [to_global_id("Location", A)]}
    direct_bookings = gateway.graphql(BOOKINGS, at_a)
    first_at_a = [node["id"] for node in direct_bookings["data"]["bookings"]["nodes"]]
    reviewed = [*first_at_a[:2], to_global_id("Booking", _only_at_b(gateway))]
    reviews = [
        {"id": f"rev-{index}", "bookingId": booking, "stars": 5 - index, "text": f"review {index}"}
        for index, booking in enumerate(reviewed)
    ]
    admin = gateway.admin_token
    requests = [
        {"name": "bookings", "query": BOOKINGS_WITH_REVIEWS, "variables": at_a, "token": admin},
        {"name": "reviews", "query": REVIEWS_WITH_BOOKINGS, "variables": {}, "token": admin},
        {"name": "managerReviews", "query": REVIEWS_WITH_BOOKINGS, "variables": {}, "token": manager},
        {"name": "managerBookings", "query": MANAGER_BOOKINGS, "variables": {}, "token": manager},
        {"name": "anonymousReviews", "query": REVIEWS_WITH_BOOKINGS, "variables": {}, "token": None},
    ]
    spec = {"sdlToken": admin, "reviews": reviews, "requests": requests}
    result = run_node(SCRIPT, f"{gateway.url}/graphql", json.dumps(spec))
    manager_headers = {"Authorization": f"Bearer {manager}"}
    direct = {
        "bookings": direct_bookings,
        "reviewed": gateway.graphql(BOOKINGS_BY_ID, {"ids": reviewed}),
        "managerBookings": gateway.graphql(MANAGER_BOOKINGS.replace(" review { stars }", ""), headers=manager_headers),
    }
    return Supergraph(result["composition"], result["responses"], reviewed, direct)


def test_the_gateway_composes_with_a_subgraph_extending_its_bookings(supergraph: Supergraph) -> None:
    assert supergraph.composition["errors"] == []
    assert set(supergraph.responses) == {"bookings", "reviews", "managerReviews", "managerBookings", "anonymousReviews"}


def test_the_gateway_s_bookings_carry_the_other_subgraph_s_reviews(supergraph: Supergraph) -> None:
    body = supergraph.body("bookings")
    assert "errors" not in body, body
    nodes = body["data"]["bookings"]["nodes"]
    direct = supergraph.direct["bookings"]["data"]["bookings"]["nodes"]
    assert [(node["id"], node["status"]) for node in nodes] == [(node["id"], node["status"]) for node in direct]
    assert [node["review"] for node in nodes] == [
        {"stars": 5, "text": "review 0"},
        {"stars": 4, "text": "review 1"},
        None,
        None,
        None,
    ]


def test_the_gateway_s_freshness_report_reaches_the_router_s_caller(supergraph: Supergraph) -> None:
    freshness = supergraph.body("bookings")["extensions"]["freshness"]
    direct = supergraph.direct["bookings"]["extensions"]["freshness"]
    assert set(freshness) == set(direct) == {A}
    assert {kind: entry["source"] for kind, entry in freshness[A].items()} == {
        kind: entry["source"] for kind, entry in direct[A].items()
    }


def test_the_other_subgraph_s_reviews_get_their_bookings_from_the_gateway_s_entities(
    supergraph: Supergraph,
) -> None:
    body = supergraph.body("reviews")
    assert "errors" not in body, body
    bookings = [review["booking"] for review in body["data"]["reviews"]]
    assert bookings == supergraph.direct["reviewed"]["data"]["nodes"]
    served_or_booked = [
        {booking["serviceLocation"]["networkId"], booking["originatingLocation"]["networkId"]} for booking in bookings
    ]
    assert A in served_or_booked[0] and A in served_or_booked[1] and served_or_booked[2] == {B}


def test_through_the_router_a_location_manager_gets_only_their_locations_rows(supergraph: Supergraph) -> None:
    body = supergraph.body("managerReviews")
    bookings = [review["booking"] for review in body["data"]["reviews"]]
    assert [booking and booking["id"] for booking in bookings] == [*supergraph.reviewed[:2], None]
    [error] = body["errors"]
    assert error["path"] == ["reviews", 2, "booking"]
    assert error["extensions"]["code"] == "NOT_FOUND" and error["extensions"]["serviceName"] == "gateway"
    assert "leeds" not in json.dumps(body).lower()


def test_through_the_router_a_location_manager_s_bookings_are_their_locations_with_freshness_for_them(
    supergraph: Supergraph,
) -> None:
    body = supergraph.body("managerBookings")
    assert "errors" not in body, body
    direct = supergraph.direct["managerBookings"]["data"]["bookings"]
    bookings = body["data"]["bookings"]
    assert bookings["totalCount"] == direct["totalCount"] > 0
    assert [node["id"] for node in bookings["nodes"]] == [node["id"] for node in direct["nodes"]]
    for node in bookings["nodes"]:
        assert A in (node["serviceLocation"]["networkId"], node["originatingLocation"]["networkId"]), node
    assert set(body["extensions"]["freshness"]) == {A}


def test_through_the_router_an_anonymous_caller_gets_no_booking(supergraph: Supergraph) -> None:
    body = supergraph.body("anonymousReviews")
    assert [review["booking"] for review in body["data"]["reviews"]] == [None, None, None]
    assert {error["extensions"]["code"] for error in body["errors"]} == {"UNAUTHENTICATED"}
