"""The gateway as an Apollo Federation v2 subgraph, asked as a router asks it: `_service { sdl }` for the
composition, `_entities(representations:)` with the caller's own token for every entity fetch."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Select, select
from strawberry.printer import print_schema

from conftest import REPO, RunningGateway, SqlStatementCounter
from identity.principal import Role
from resolvers.ids import to_global_id
from schema import build_schema
from sources.cache.models import Booking, Customer, Resource, Service

A = "manchester-central"
B = "leeds-headingley"
ENTITY_TYPES = ("Location", "Customer", "Booking", "Service", "Resource")

SDL = "{ _service { sdl } }"

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Location { id name }
    ... on Customer { id firstName }
    ... on Booking { id status }
    ... on Service { id name }
    ... on Resource { id name }
  }
}
"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Location { id name }
    ... on Customer { id firstName }
    ... on Booking { id status }
    ... on Service { id name }
    ... on Resource { id name }
  }
}
"""

# What a router asks of the gateway for bookings another subgraph named: the booking and its relations.
BOOKING_ENTITIES = """
query BookingEntities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Booking {
      id startAt
      customer { id fullName }
      service { id name }
      resource { id name }
      serviceLocation { id name }
      revenueSplit { amount { minorUnits } }
    }
  }
}
"""
# One statement per loader: bookings, customers, services, resources, locations, revenue entries.
BOOKING_ENTITY_STATEMENTS = 6


@dataclass(frozen=True)
class Demo:
    bookings_at_a: list[str]  # served at A
    booking_only_at_b: str  # served at and booked from B: no business of A's
    customer: str
    service: str
    resource: str


def _keys(gateway: RunningGateway, statement: Select[Any]) -> list[str]:
    async def fetch() -> list[str]:
        async with gateway.engine.connect() as connection:
            return [str(key) for key in (await connection.execute(statement)).scalars()]

    keys = gateway.run(fetch())
    assert keys, f"the demo network has no row for {statement}"
    return keys


@pytest.fixture(scope="module")
def demo(gateway: RunningGateway) -> Demo:
    return Demo(
        bookings_at_a=_keys(
            gateway, select(Booking.id).where(Booking.service_location_id == A).order_by(Booking.id).limit(20)
        ),
        booking_only_at_b=_keys(
            gateway,
            select(Booking.id)
            .where(Booking.service_location_id == B, Booking.originating_location_id == B)
            .order_by(Booking.id)
            .limit(1),
        )[0],
        customer=_keys(gateway, select(Customer.id).order_by(Customer.id).limit(1))[0],
        service=_keys(gateway, select(Service.id).order_by(Service.id).limit(1))[0],
        resource=_keys(gateway, select(Resource.id).order_by(Resource.id).limit(1))[0],
    )


@pytest.fixture(scope="module")
def manager_headers(gateway: RunningGateway) -> dict[str, str]:
    issue = gateway.app.state.authenticator.issue
    token = gateway.run(issue(Role.LOCATION_MANAGER, subject="federation-manager", locations=[A]))
    return {"Authorization": f"Bearer {token}"}


def _representation(type_name: str, key: str) -> dict[str, str]:
    return {"__typename": type_name, "id": to_global_id(type_name, key)}


def _codes(answer: dict[str, Any]) -> list[str | None]:
    return [(error.get("extensions") or {}).get("code") for error in answer.get("errors") or []]


def test_the_subgraph_sdl_links_federation_2_and_keys_the_five_entities_by_id(gateway: RunningGateway) -> None:
    answer = gateway.graphql(SDL)
    assert "errors" not in answer, answer
    sdl = answer["data"]["_service"]["sdl"]
    assert 'schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])' in sdl
    for type_name in ENTITY_TYPES:
        assert f'type {type_name} implements Node @key(fields: "id") {{' in sdl
    keyed = {line.split()[1] for line in sdl.splitlines() if line.startswith("type ") and "@key" in line}
    assert keyed == set(ENTITY_TYPES)
    assert "union _Entity = Location | Customer | Booking | Service | Resource" in sdl
    assert sdl == print_schema(build_schema())


def test_print_sdl_prints_the_subgraph_sdl_for_a_composition_from_a_file() -> None:
    done = subprocess.run(
        [sys.executable, "server.py", "print-sdl"], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout == print_schema(build_schema()) + "\n"


def test_an_anonymous_caller_gets_no_subgraph_sdl_and_no_entities(gateway: RunningGateway, demo: Demo) -> None:
    sdl = gateway.graphql(SDL, headers={})
    assert _codes(sdl) == ["UNAUTHENTICATED"] and not sdl.get("data"), sdl
    entities = gateway.graphql(ENTITIES, {"representations": [_representation("Location", A)]}, headers={})
    assert _codes(entities) == ["UNAUTHENTICATED"] and not (entities.get("data") or {}).get("_entities"), entities


def test_entities_come_back_in_the_order_asked_as_node_answers_them(gateway: RunningGateway, demo: Demo) -> None:
    asked = [
        _representation("Booking", demo.bookings_at_a[0]),
        _representation("Location", A),
        _representation("Resource", demo.resource),
        _representation("Customer", demo.customer),
        _representation("Service", demo.service),
        _representation("Booking", demo.bookings_at_a[1]),
    ]
    entities = gateway.graphql(ENTITIES, {"representations": asked})
    assert "errors" not in entities, entities
    nodes = gateway.graphql(NODES, {"ids": [representation["id"] for representation in asked]})
    assert entities["data"]["_entities"] == nodes["data"]["nodes"]
    found = [(entity["__typename"], entity["id"]) for entity in entities["data"]["_entities"]]
    assert found == [(representation["__typename"], representation["id"]) for representation in asked]


def test_bookings_asked_as_entities_load_in_one_batch_per_relation(
    gateway: RunningGateway, demo: Demo, sql_statements: SqlStatementCounter
) -> None:
    counts = {}
    for size in (2, 20):
        representations = [_representation("Booking", key) for key in demo.bookings_at_a[:size]]
        sql_statements.reset()
        answer = gateway.graphql(BOOKING_ENTITIES, {"representations": representations})
        assert "errors" not in answer, answer
        assert [entity["id"] for entity in answer["data"]["_entities"]] == [r["id"] for r in representations]
        assert all(entity["customer"]["fullName"] for entity in answer["data"]["_entities"])
        counts[size] = sql_statements.count
    assert counts == {2: BOOKING_ENTITY_STATEMENTS, 20: BOOKING_ENTITY_STATEMENTS}


def test_a_location_manager_gets_null_for_entities_outside_their_locations(
    gateway: RunningGateway, demo: Demo, manager_headers: dict[str, str]
) -> None:
    asked = [
        _representation("Booking", demo.bookings_at_a[0]),
        _representation("Booking", demo.booking_only_at_b),
        _representation("Location", A),
        _representation("Location", B),
        _representation("Booking", "bkg_no_such_booking"),
    ]
    answer = gateway.graphql(ENTITIES, {"representations": asked}, headers=manager_headers)
    entities = answer["data"]["_entities"]
    assert [entity and entity["id"] for entity in entities] == [asked[0]["id"], None, asked[2]["id"], None, None]
    errors = sorted(answer["errors"], key=lambda error: error["path"])  # in the order the items finished
    assert [(error["path"], error["extensions"]["code"]) for error in errors] == [
        (["_entities", 1], "NOT_FOUND"),
        (["_entities", 3], "NOT_FOUND"),
        (["_entities", 4], "NOT_FOUND"),
    ]
    # A booking the manager may not see reads exactly as one that does not exist.
    hidden, _, unknown = (error["message"] for error in errors)
    assert hidden.replace(asked[1]["id"], "<id>") == unknown.replace(asked[4]["id"], "<id>")


def test_a_malformed_representation_fails_alone_and_names_what_is_expected(gateway: RunningGateway, demo: Demo) -> None:
    asked: list[Any] = [
        {"__typename": "StockItem", "id": "StockItem:itm_1"},  # a node, but no entity of the supergraph
        {"__typename": "Booking"},
        {"__typename": "Booking", "id": to_global_id("Location", A)},
        "Booking:bkg_1",
        _representation("Location", A),
    ]
    answer = gateway.graphql(ENTITIES, {"representations": asked})
    assert [entity and entity["id"] for entity in answer["data"]["_entities"]] == [None] * 4 + [asked[4]["id"]]
    errors = sorted(answer["errors"], key=lambda error: error["path"])
    assert [(error["path"][1], error["extensions"]["code"]) for error in errors] == [
        (0, "INVALID_INPUT"),
        (1, "INVALID_INPUT"),
        (2, "INVALID_ID"),
        (3, "INVALID_INPUT"),
    ]
    assert "Booking, Customer, Location, Resource, Service" in errors[0]["message"]


def test_more_representations_than_a_page_holds_are_refused(gateway: RunningGateway) -> None:
    too_many = [_representation("Location", A)] * (gateway.app.state.settings.max_page_size + 1)
    answer = gateway.graphql(ENTITIES, {"representations": too_many})
    assert _codes(answer) == ["INVALID_INPUT"] and answer["data"] is None, answer
