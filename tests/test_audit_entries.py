"""The audit log as a query: `auditEntries` filtered by actor, action, location and time, paged, and in the scope
of the caller's role (a location manager sees their location's entries only; franchisees, staff and customers are
refused). The entries are made by real writes over HTTP (adjustStock at two locations, by two people)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id
from sources.cache.models import StockLevel

A = "manchester-central"
B = "stockport-merseyway"

ADJUST_STOCK = """
mutation Adjust($input: AdjustStockInput!) { adjustStock(input: $input) { errors { code message } } }
"""

AUDIT = """
query Audit($actor: String, $action: String, $location: ID, $from: DateTime, $to: DateTime, $first: Int,
            $after: String) {
  auditEntries(actor: $actor, action: $action, locationId: $location, from: $from, to: $to, first: $first,
               after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { entryId occurredAt actor action entityType entityId locationNetworkId details }
  }
}
"""


def _token(gateway: RunningGateway, role: Role, subject: str, **claims: Any) -> dict[str, str]:
    token = gateway.run(gateway.app.state.authenticator.issue(role, subject=subject, **claims))
    return {"Authorization": f"Bearer {token}"}


def _item_at_a_and_b(gateway: RunningGateway) -> str:
    async def item() -> str:
        async with gateway.engine.connect() as connection:
            found = await connection.scalar(
                select(StockLevel.item_id)
                .where(StockLevel.location_id.in_([A, B]))
                .group_by(StockLevel.item_id)
                .having(func.count() == 2)
                .order_by(StockLevel.item_id)
                .limit(1)
            )
        assert found is not None
        return str(found)

    return gateway.run(item())


def _adjust(gateway: RunningGateway, headers: dict[str, str], item: str, location_id: str) -> None:
    variables = {
        "input": {
            "idempotencyKey": f"audit-{uuid.uuid4().hex}",
            "itemId": to_global_id("StockItem", item),
            "locationId": to_global_id("Location", location_id),
            "delta": 2,
            "reason": "adjustment",
        }
    }
    answer = gateway.graphql(ADJUST_STOCK, variables, headers=headers)
    assert answer["data"]["adjustStock"]["errors"] == [], answer


def _audit(gateway: RunningGateway, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    return gateway.graphql(AUDIT, variables, headers=headers)


def _entries(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in answer, answer
    nodes: list[dict[str, Any]] = answer["data"]["auditEntries"]["nodes"]
    return nodes


@pytest.fixture(scope="module")
def audited(live_gateway: RunningGateway) -> dict[str, dict[str, str]]:
    """Two people each adjust one item's stock at A and at B: four entries whose actors and locations are known."""
    item = _item_at_a_and_b(live_gateway)
    people = {
        "hub": _token(live_gateway, Role.HUB_ADMINISTRATOR, "audit-hub"),
        "manager": _token(live_gateway, Role.LOCATION_MANAGER, "audit-manager", locations=[A]),
    }
    for location_id in (A, B):
        _adjust(live_gateway, people["hub"], item, location_id)
    _adjust(live_gateway, people["manager"], item, A)
    return people


def test_an_admin_finds_a_person_s_changes_by_actor_and_action(
    live_gateway: RunningGateway, audited: dict[str, dict[str, str]]
) -> None:
    entries = _entries(_audit(live_gateway, actor="audit-hub", action="stock.change"))
    assert sorted(entry["locationNetworkId"] for entry in entries) == [A, B]
    assert {(entry["actor"], entry["action"], entry["entityType"]) for entry in entries} == {
        ("audit-hub", "stock.change", "stock_level")
    }
    assert all(entry["details"]["quantity"] == 2 for entry in entries)
    assert [entry["entryId"] for entry in entries] == sorted((entry["entryId"] for entry in entries), reverse=True)


def test_the_location_filter_and_the_time_window_narrow_the_log(
    live_gateway: RunningGateway, audited: dict[str, dict[str, str]]
) -> None:
    at_b = _entries(_audit(live_gateway, actor="audit-hub", location=to_global_id("Location", B)))
    assert [entry["locationNetworkId"] for entry in at_b] == [B]
    moment = at_b[0]["occurredAt"]
    window = _entries(_audit(live_gateway, actor="audit-hub", location=to_global_id("Location", B), to=moment))
    assert window == []  # `to` is exclusive
    since = _entries(_audit(live_gateway, actor="audit-hub", location=to_global_id("Location", B), **{"from": moment}))
    assert since == at_b


def test_a_location_manager_sees_their_location_s_entries_only(
    live_gateway: RunningGateway, audited: dict[str, dict[str, str]]
) -> None:
    manager = audited["manager"]
    theirs = _entries(_audit(live_gateway, manager, first=100))
    assert theirs and {entry["locationNetworkId"] for entry in theirs} == {A}
    assert {"audit-hub", "audit-manager"} <= {entry["actor"] for entry in theirs}
    elsewhere = _audit(live_gateway, manager, location=to_global_id("Location", B))
    assert _entries(elsewhere) == [] and elsewhere["data"]["auditEntries"]["totalCount"] == 0
    everything = _audit(live_gateway, first=1)["data"]["auditEntries"]["totalCount"]
    assert _audit(live_gateway, manager, first=1)["data"]["auditEntries"]["totalCount"] < everything


def test_pages_follow_on_from_their_cursor_without_repeats(
    live_gateway: RunningGateway, audited: dict[str, dict[str, str]]
) -> None:
    first = _audit(live_gateway, actor="audit-hub", first=1)["data"]["auditEntries"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"] is True
    second = _audit(live_gateway, actor="audit-hub", first=1, after=first["pageInfo"]["endCursor"])
    following = second["data"]["auditEntries"]
    assert following["pageInfo"]["hasNextPage"] is False
    assert following["nodes"][0]["entryId"] < first["nodes"][0]["entryId"]


@pytest.mark.parametrize(
    ("role", "claims", "code"),
    [
        (Role.FRANCHISEE, {"locations": [A]}, "FORBIDDEN"),
        (Role.CUSTOMER, {"customer_id": "cus-audit-nobody"}, "FORBIDDEN"),
        (None, {}, "UNAUTHENTICATED"),
    ],
)
def test_franchisees_customers_and_the_anonymous_are_refused(
    live_gateway: RunningGateway, role: Role | None, claims: dict[str, Any], code: str
) -> None:
    headers = {} if role is None else _token(live_gateway, role, f"audit-{role.value}", **claims)
    answer = _audit(live_gateway, headers)
    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize(
    "variables",
    [
        {"actor": "x" * 201},
        {"action": "y" * 101},
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "1066-10-14T09:00:00Z"},
        {"first": -1},
        {"location": "Booking:not-a-location"},
    ],
)
def test_bad_filters_are_typed_invalid_input(live_gateway: RunningGateway, variables: dict[str, Any]) -> None:
    answer = _audit(live_gateway, **variables)
    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] in (["INVALID_INPUT"], ["INVALID_ID"])
