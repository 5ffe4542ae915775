"""The gateway's BookingX network API (specs/bookingx-network.md §3): a demo BookingX location, with the credentials
the demo made for it, handshakes, pushes its changes, receives what it missed, settles its conflicts, books,
reads, and can act for itself only."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from bookingx_helpers import DUBLIN, MANCHESTER, PREFIX, STOCKPORT, Node, local_booking
from cache_helpers import count, rows
from clock import open_tuesday
from sqlalchemy import select

from conftest import RunningGateway
from devnet.simulators.bookingx_webhooks import NodeWebhooks
from resolvers.ids import to_global_id
from sources.cache.models import Booking, Conflict, Customer, CustomerMapping, Location, Service
from sync.conflicts.detect import ConflictPolicy
from sync.types import Strategy

NODE_ONLY = "rest_forbidden"


def _node(gateway: RunningGateway, node_id: str = MANCHESTER) -> Node:
    return Node(gateway, node_id).connect()


# -- handshake -------------------------------------------------------------------------------------
def test_a_node_handshakes_and_gets_a_short_lived_token_for_itself(live_gateway: RunningGateway) -> None:
    answer = Node(live_gateway, MANCHESTER).handshake()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["node_id"] == MANCHESTER and body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["supported_versions"] == ">=2.0,<3.0" and body["hub"]["api_base"] == PREFIX
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["role"] == "location" and claims["locations"] == [MANCHESTER]
    assert claims["exp"] - claims["iat"] == 900


WRONG: dict[str, dict[str, str]] = {
    "wrong-secret": {"api_secret": "not-the-secret"},
    "wrong-key": {"api_key": "gwk_not-the-key"},
    "both-wrong": {"api_key": "gwk_not-the-key", "api_secret": "not-the-secret"},
    "another-nodes-key": {"node_id": STOCKPORT},
    "unknown-node": {"node_id": "nowhere-at-all"},
}


@pytest.mark.parametrize("wrong", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_key_or_secret_is_401_and_says_nothing_more(
    live_gateway: RunningGateway, wrong: dict[str, str]
) -> None:
    answer = Node(live_gateway, MANCHESTER).handshake(**wrong)
    assert answer.status_code == 401
    body = answer.json()
    assert body["code"] == "rest_not_logged_in" and body["data"]["status"] == 401
    assert body["message"] == "unknown node, or wrong api_key or api_secret"
    assert "token" not in body


def test_an_incompatible_version_is_refused_naming_the_range(live_gateway: RunningGateway) -> None:
    answer = Node(live_gateway, MANCHESTER).handshake(version="1.9.9")
    assert answer.status_code == 426
    body = answer.json()
    assert body["code"] == "bkx_version_incompatible"
    assert ">=2.0,<3.0" in body["message"] and body["data"]["supported_versions"] == ">=2.0,<3.0"


def test_an_unknown_node_cannot_join_while_registration_is_closed(live_gateway: RunningGateway) -> None:
    answer = httpx.post(f"{live_gateway.url}{PREFIX}/handshake", json=_joining("york-minster"), timeout=30)
    assert answer.status_code == 401
    assert count(live_gateway, Location, Location.id == "york-minster") == 0


def _joining(node_id: str) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "api_key": "york-own-key",
        "api_secret": "york-own-secret",
        "version": "2.2.0",
        "node_name": "York Minster",
        "node_url": "http://127.0.0.1:9/",
        "location_data": {
            "timezone": "Europe/London",
            "currency": "GBP",
            "town": "York",
            "latitude": 53.96,
            "longitude": -1.08,
        },
    }


def test_an_unknown_node_joins_when_registration_is_open(
    live_gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_gateway.app.state.settings, "bookingx_open_registration", True)
    joined = httpx.post(f"{live_gateway.url}{PREFIX}/handshake", json=_joining("york-minster"), timeout=30)
    assert joined.status_code == 200, joined.text
    key = joined.json()["api_key"]
    assert key.startswith("gwk_")
    assert count(live_gateway, Location, Location.id == "york-minster", Location.kind == "bookingx") == 1
    # From now on it is a known node: the key the gateway gave it, with its own secret.
    again = {**_joining("york-minster"), "api_key": key}
    assert httpx.post(f"{live_gateway.url}{PREFIX}/handshake", json=again, timeout=30).status_code == 200
    # Its first description does not register it twice, nor let the old key in.
    assert (
        httpx.post(f"{live_gateway.url}{PREFIX}/handshake", json=_joining("york-minster"), timeout=30).status_code
        == 401
    )


# -- sync ------------------------------------------------------------------------------------------
def _caught_up(node: Node) -> str:
    """The node's cursor after reading everything the network has for it now."""
    cursor = None
    while True:
        answer = node.request("POST", "sync", json={"cursor": cursor, "limit": 500})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return str(cursor)


def _new_local_booking(gateway: RunningGateway, node_id: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A booking made at the node itself, as its API shows it, and its customer."""
    local_id = local_booking(gateway, node_id, seed)
    webhooks = NodeWebhooks(gateway.store(node_id), node_id=node_id, api_secret="")
    event = webhooks.booking_created(local_id)
    return event["booking"], event["customer"]


def _a_customer_known_at(gateway: RunningGateway, node_id: str) -> str:
    found = rows(
        gateway,
        select(CustomerMapping.customer_id)
        .where(CustomerMapping.location_id == node_id)
        .order_by(CustomerMapping.customer_id)
        .limit(1),
    )
    return str(found[0][0])


UPDATE_CUSTOMER = """mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { errors { code } } }"""


def _network_changes_phone(gateway: RunningGateway, customer_id: str, phone: str) -> None:
    """The network (an admin, through GraphQL) changes a customer's phone."""
    key = uuid.uuid4().hex
    changed = gateway.graphql(
        UPDATE_CUSTOMER,
        {"input": {"idempotencyKey": key, "customerId": to_global_id("Customer", customer_id), "phone": phone}},
    )
    assert changed["data"]["updateCustomer"]["errors"] == [], changed


def test_a_node_pushes_a_delta_and_receives_the_delta_it_missed(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway)
    cursor = _caught_up(node)
    # Given: while the node was away, the network changed a customer it knows.
    customer_id = _a_customer_known_at(live_gateway, MANCHESTER)
    _network_changes_phone(live_gateway, customer_id, "+447700900777")
    booking, customer = _new_local_booking(live_gateway, MANCHESTER, seed=1)
    batch = {
        "node_id": MANCHESTER,
        "cursor": cursor,
        "limit": 100,
        "changes": [
            {
                "entity_type": "customer",
                "entity_id": customer["local_customer_id"],
                "operation": "create",
                "payload": customer,
            },
            {
                "entity_type": "booking",
                "entity_id": booking["local_booking_id"],
                "operation": "create",
                "payload": booking,
            },
        ],
    }
    # When: it sends the booking made there since, with its cursor.
    answer = node.request("POST", "sync", json=batch)
    # Then: the booking is the network's, and the answer carries the customer change the node missed.
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["entity_count"] == 2 and body["applied"]["created"] == 2
    network_id = body["booking_ids"][booking["local_booking_id"]]
    assert count(live_gateway, Booking, Booking.id == network_id, Booking.service_location_id == MANCHESTER) == 1
    missed = [c for c in body["changes"] if c["entity_type"] == "customer" and c["entity_id"] == customer_id]
    assert missed and missed[-1]["payload"]["phone"] == "+447700900777" and missed[-1]["operation"] == "update"
    # What the node sent itself is not sent back to it.
    assert all(c["source_node_id"] != MANCHESTER for c in body["changes"])
    assert all(c["entity_id"] != network_id for c in body["changes"])
    # Its next call from the new cursor has nothing it has seen.
    after = node.request("POST", "sync", json={"cursor": body["next_cursor"]}).json()
    assert all(c["id"] > max(x["id"] for x in body["changes"]) for c in after["changes"])


def test_a_bad_cursor_or_batch_is_400_and_applies_nothing(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway)
    assert node.request("POST", "sync", json={"cursor": "not-a-cursor"}).json()["code"] == "rest_invalid_param"
    booking, customer = _new_local_booking(live_gateway, MANCHESTER, seed=2)
    mismatched = {
        "changes": [
            {"entity_type": "customer", "entity_id": customer["local_customer_id"], "payload": customer},
            {"entity_type": "booking", "entity_id": "BK-someone-else", "payload": booking},
        ]
    }
    answer = node.request("POST", "sync", json=mismatched)
    assert answer.status_code == 400 and answer.json()["code"] == "rest_invalid_param"
    assert count(live_gateway, Booking, Booking.local_booking_id == booking["local_booking_id"]) == 0
    assert count(live_gateway, Customer, Customer.email == customer["email"]) == 0


def test_node_a_cannot_push_for_node_b(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway, MANCHESTER)
    booking, customer = _new_local_booking(live_gateway, STOCKPORT, seed=3)
    batch = {
        "node_id": STOCKPORT,
        "changes": [
            {"entity_type": "customer", "entity_id": customer["local_customer_id"], "payload": customer},
            {"entity_type": "booking", "entity_id": booking["local_booking_id"], "payload": booking},
        ],
    }
    answer = node.request("POST", "sync", json=batch)
    assert answer.status_code == 403 and answer.json()["code"] == NODE_ONLY
    assert count(live_gateway, Booking, Booking.local_booking_id == booking["local_booking_id"]) == 0
    assert count(live_gateway, Customer, Customer.email == customer["email"]) == 0


def test_a_person_s_token_is_not_a_node_s(live_gateway: RunningGateway) -> None:
    answer = httpx.post(f"{live_gateway.url}{PREFIX}/sync", json={}, headers=live_gateway.headers, timeout=30)
    assert answer.status_code == 403 and answer.json()["code"] == NODE_ONLY
    anonymous = httpx.post(f"{live_gateway.url}{PREFIX}/sync", json={}, timeout=30)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "rest_not_logged_in"


# -- conflicts -------------------------------------------------------------------------------------
def _pending_conflict_of_a_node(gateway: RunningGateway) -> tuple[str, str, str]:
    """(conflict id, a BookingX node that is a side of it, a BookingX node that is not)."""
    nodes = {MANCHESTER, STOCKPORT, DUBLIN}
    pending = rows(
        gateway,
        select(Conflict.id, Conflict.source_location_id, Conflict.target_location_id)
        .where(Conflict.status == "pending")
        .order_by(Conflict.id),
    )
    for conflict_id, source, target in pending:
        side = source if source in nodes else target if target in nodes else None
        outsider = sorted(nodes - {source, target})
        if side is not None and outsider:
            return conflict_id, side, outsider[0]
    raise AssertionError(f"the demo has no pending conflict a BookingX node is a side of: {pending}")


def test_a_node_resolves_its_conflict_through_conflict_resolve(live_gateway: RunningGateway) -> None:
    conflict_id, side, outsider = _pending_conflict_of_a_node(live_gateway)
    # A node that is no side of it does not see it, and changes nothing.
    stranger = _node(live_gateway, outsider).request(
        "POST", "sync/conflict-resolve", json={"conflict_id": conflict_id, "strategy": "hub_wins"}
    )
    assert stranger.status_code == 404 and stranger.json()["code"] == "rest_not_found"
    assert count(live_gateway, Conflict, Conflict.id == conflict_id, Conflict.status == "pending") == 1

    node = _node(live_gateway, side)
    answer = node.request("POST", "sync/conflict-resolve", json={"conflict_id": conflict_id, "strategy": "node_wins"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["conflict_id"] == conflict_id and body["status"] == "resolved"
    again = node.request("POST", "sync/conflict-resolve", json={"conflict_id": conflict_id, "strategy": "hub_wins"})
    assert again.status_code == 409 and again.json()["code"] == "bkx_conflict"


# -- writes and reads ------------------------------------------------------------------------------
def test_a_node_books_a_service_at_another_location(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway, MANCHESTER)
    service_id = rows(
        live_gateway,
        select(Service.id).where(Service.location_id == STOCKPORT, Service.is_active).order_by(Service.id).limit(1),
    )[0][0]
    day, _ = open_tuesday(days_ahead=40)
    body = {
        "idempotency_key": uuid.uuid4().hex,
        "service_id": service_id,
        "start_at": day.replace(hour=11).isoformat(),
        "customer": {"first_name": "Ada", "last_name": "Across", "email": "ada.across@example.com"},
    }
    answer = node.request("POST", "bookings", json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["originating_node_id"] == MANCHESTER and made["service_node_id"] == STOCKPORT
    assert datetime.fromisoformat(made["start_at"]).astimezone(UTC) == day.replace(hour=11)
    assert count(live_gateway, Booking, Booking.id == made["global_booking_id"]) == 1
    # The same key again is the same booking, not a second one.
    assert node.request("POST", "bookings", json=body).json()["global_booking_id"] == made["global_booking_id"]


def test_a_node_updates_a_customer_it_knows_but_not_one_it_does_not(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway, DUBLIN)
    mine = _a_customer_known_at(live_gateway, DUBLIN)
    answer = node.request(
        "PUT", "customers", json={"idempotency_key": uuid.uuid4().hex, "global_customer_id": mine, "last_name": "Byrne"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["last_name"] == "Byrne"
    known_elsewhere = rows(
        live_gateway,
        select(Customer.id, Customer.last_name)
        .where(~Customer.id.in_(select(CustomerMapping.customer_id).where(CustomerMapping.location_id == DUBLIN)))
        .where(~Customer.id.in_(select(Booking.customer_id).where(Booking.service_location_id == DUBLIN)))
        .where(~Customer.id.in_(select(Booking.customer_id).where(Booking.originating_location_id == DUBLIN)))
        .where(Customer.primary_location_id != DUBLIN)
        .order_by(Customer.id)
        .limit(1),
    )[0]
    refused = node.request(
        "PUT",
        "customers",
        json={"idempotency_key": uuid.uuid4().hex, "global_customer_id": known_elsewhere[0], "last_name": "Changed"},
    )
    assert refused.status_code == 404 and refused.json()["code"] == "rest_not_found"
    assert (
        count(live_gateway, Customer, Customer.id == known_elsewhere[0], Customer.last_name == known_elsewhere[1]) == 1
    )


def test_a_node_reads_its_resources_inventory_and_figures_only(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway, STOCKPORT)
    resources = node.request("GET", "resources", params={"per_page": 200}).json()["resources"]
    assert resources
    for resource in resources:
        assert resource["owning_node_id"] == STOCKPORT or STOCKPORT in resource["sharing_nodes"]
        assert resource["owned"] == (resource["owning_node_id"] == STOCKPORT)
    inventory = node.request("GET", "inventory", params={"per_page": 200}).json()["inventory"]
    assert inventory and all(level["node_id"] == STOCKPORT for item in inventory for level in item["levels"])
    day, _ = open_tuesday(days_ahead=0)
    figures = node.request(
        "GET",
        "analytics",
        params={
            "from": (day - timedelta(days=90)).date().isoformat(),
            "to": day.date().isoformat(),
            "group_by": "node",
        },
    )
    assert figures.status_code == 200, figures.text
    assert {row["node_id"] for row in figures.json()["rows"]} <= {STOCKPORT}
    bad = node.request("GET", "analytics", params={"from": "2026-02-30", "to": "2026-03-01"})
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"


def test_a_node_sends_its_staff_and_sees_them_among_its_resources(live_gateway: RunningGateway) -> None:
    node = _node(live_gateway, DUBLIN)
    staff = {
        "local_resource_id": "S-new-77",
        "resource_type": "staff",
        "name": "Orla Quinn",
        "title": "Barber",
        "skill": "hair",
        "is_active": True,
        "version": 1,
    }
    answer = node.request("POST", "staff", json={"staff": [staff]})
    assert answer.status_code == 200, answer.text
    global_id = answer.json()["staff"][0]["global_resource_id"]
    resources = node.request("GET", "resources", params={"per_page": 200, "resource_type": "staff"}).json()
    assert global_id in {r["global_resource_id"] for r in resources["resources"]}
    wrong_kind = node.request("POST", "staff", json={"staff": [{**staff, "resource_type": "room"}]})
    assert wrong_kind.status_code == 400


def test_a_node_pushes_a_concurrent_change_and_settles_the_conflict_it_made(live_gateway: RunningGateway) -> None:
    services = live_gateway.app.state.services
    rules = services.sync.rule_book.current
    simulator = live_gateway.simulator(MANCHESTER)
    # Conflicts on customers wait for a person; the hub cannot reach the node meanwhile (its write waits).
    services.sync.rule_book.current = dataclasses.replace(
        rules, policy=ConflictPolicy(Strategy.HUB_WINS, {"customer": Strategy.MANUAL})
    )
    live_gateway.run(simulator.stop())
    try:
        node = _node(live_gateway, MANCHESTER)
        store = live_gateway.store(MANCHESTER)
        local_id, customer_id = rows(
            live_gateway,
            select(CustomerMapping.local_customer_id, CustomerMapping.customer_id)
            .where(CustomerMapping.location_id == MANCHESTER)
            .order_by(CustomerMapping.customer_id)
            .offset(3)
            .limit(1),
        )[0]
        # Given: the node and the network change the same phone, neither seeing the other.
        store.upsert_customer(key=None, local_id=local_id, details={"phone": "+447700900555"})
        ours = NodeWebhooks(store, node_id=MANCHESTER, api_secret="").customer_updated(local_id)["customer"]
        _network_changes_phone(live_gateway, customer_id, "+447700900444")
        # When: the node pushes its change.
        change = {"entity_type": "customer", "entity_id": local_id, "operation": "update", "payload": ours}
        answer = node.request("POST", "sync", json={"changes": [change]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        # Then: a conflict waits for it, named in the answer, and the network's value stands meanwhile.
        assert body["applied"]["conflicts"] == 1
        waiting = [c for c in body["pending_conflicts"] if c["entity_id"] == customer_id]
        assert len(waiting) == 1 and waiting[0]["source_node_id"] == MANCHESTER
        assert rows(live_gateway, select(Customer.phone).where(Customer.id == customer_id))[0][0] == "+447700900444"
        settled = node.request(
            "POST", "sync/conflict-resolve", json={"conflict_id": waiting[0]["conflict_id"], "strategy": "node_wins"}
        )
        assert settled.status_code == 200, settled.text
        assert settled.json()["status"] == "resolved"
        assert rows(live_gateway, select(Customer.phone).where(Customer.id == customer_id))[0][0] == "+447700900555"
    finally:
        services.sync.rule_book.current = rules
        live_gateway.run(simulator.start())
