"""The BookingX node's network add-on endpoints: delta sync, lent-in staff, analytics, conflict resolution.

These are the spec's hub-to-node calls that are about the network rather than one
booking: the hub pulls what changed, registers staff another node lends this one, reads
figures, and tells the node how a conflict it was part of was settled.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sources.cache.types import utc_now
from sources.simulators.bookingx_wire import (
    ApiError,
    Body,
    BookingXNode,
    InvalidInput,
    booking_view,
    customer_details,
    customer_view,
    idempotency_key,
    parse_moment,
    query_moment,
    resource_view,
    stock_view,
)
from sources.simulators.store_records import StoredResource

SYNC_ENTITIES = ("bookings", "customers", "inventory")
STRATEGIES = frozenset({"hub_wins", "node_wins", "newest", "manual"})
EARNING_STATUSES = frozenset({"confirmed", "completed"})


def _views_since(node: BookingXNode, since: datetime | None, entities: list[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    if "bookings" in entities:
        answer["bookings"] = [booking_view(node, b) for b in node.store.bookings_changed_since(since)]
    if "customers" in entities:
        answer["customers"] = [customer_view(c) for c in node.store.customers_changed_since(since)]
    if "inventory" in entities:
        levels = node.store.snapshot_stock()
        answer["inventory"] = [stock_view(s) for s in levels if since is None or s.updated_at >= since]
    return answer


async def sync(node: BookingXNode, request: Request) -> Response:
    """POST /sync {"since": iso|null, "entities": [...]}: everything changed since the hub's last cursor."""
    server_time = utc_now()  # taken first: the hub's next cursor must not skip what changes while we read
    body = await Body.read(request)
    raw_since = body.optional_text("since")
    since = None if raw_since is None else parse_moment(raw_since, "body.since")
    entities = body.data.get("entities", list(SYNC_ENTITIES))
    if not isinstance(entities, list) or any(e not in SYNC_ENTITIES for e in entities):
        raise InvalidInput(f"body.entities must list some of {', '.join(SYNC_ENTITIES)}")
    answer = {"node_id": node.node_id, "server_time": server_time.isoformat(), "since": raw_since}
    return JSONResponse(answer | _views_since(node, since, entities))


async def register_staff(node: BookingXNode, request: Request) -> Response:
    """POST /staff: a staff member another node lends this one, known here by their global id."""
    body = await Body.read(request)
    global_id = body.text("global_resource_id")
    owner = body.text("owning_node_id")
    if owner == node.node_id:
        raise InvalidInput("staff owned by this node are not lent to it")
    lent = StoredResource(
        local_id=global_id,
        kind="staff",
        name=body.text("name"),
        title=body.optional_text("title") or "",
        skill=body.optional_text("skill"),
        owned=False,
    )
    store = node.store

    def apply() -> StoredResource:
        known = store.resources.get(global_id)
        if known is not None and known.owned:
            raise ApiError(409, "CONFLICT", f"{global_id} is this node's own resource")
        store.resources[global_id] = lent
        return lent

    registered = store.once(idempotency_key(request), apply)
    return JSONResponse(resource_view(registered, []), status_code=201)


async def analytics(node: BookingXNode, request: Request) -> Response:
    """GET /analytics?from=&to=: bookings by status and earned revenue for bookings starting in the window."""
    start = query_moment(request, "from", required=False)
    end = query_moment(request, "to", required=False)
    bookings = [
        b
        for b in node.store.bookings_changed_since(None)
        if (start is None or b.start_at >= start) and (end is None or b.start_at < end)
    ]
    by_status = Counter(b.status for b in bookings)
    revenue = sum(b.price_minor for b in bookings if b.status in EARNING_STATUSES and b.currency == node.store.currency)
    return JSONResponse(
        {
            "node_id": node.node_id,
            "from": None if start is None else start.isoformat(),
            "to": None if end is None else end.isoformat(),
            "bookings": {"total": len(bookings), "by_status": dict(by_status)},
            "revenue": {"amount_minor": revenue, "currency": node.store.currency},
            "customers": len(node.store.customers),
        }
    )


def _apply_booking_resolution(node: BookingXNode, key: str | None, local_id: str, data: Body) -> dict[str, Any]:
    if data.optional_text("status") == "cancelled":
        booking = node.store.cancel_booking(key=key, local_id=local_id, reason="conflict resolution")
    else:
        booking = node.store.reschedule_booking(
            key=key,
            local_id=local_id,
            start_at=data.moment("start_at"),
            end_at=data.moment("end_at"),
            local_resource_id=data.optional_text("local_resource_id"),
        )
    return booking_view(node, booking)


def _current(node: BookingXNode, entity_type: str, local_id: str) -> dict[str, Any]:
    if entity_type == "customer":
        customer = node.store.customers.get(local_id)
        if customer is not None:
            return customer_view(customer)
    else:
        booking = node.store.bookings.get(local_id)
        if booking is not None:
            return booking_view(node, booking)
    raise ApiError(404, "NOT_FOUND", f"no {entity_type} {local_id}")


async def resolve_conflict(node: BookingXNode, request: Request) -> Response:
    """POST /sync/conflict-resolve: the hub settled a conflict; unless the node won, take the resolved data."""
    body = await Body.read(request)
    conflict_id = body.text("conflict_id")
    entity_type = body.text("entity_type")
    if entity_type not in ("customer", "booking"):
        raise InvalidInput("body.entity_type must be customer or booking")
    local_id = body.text("local_id")
    strategy = body.text("strategy")
    if strategy not in STRATEGIES:
        raise InvalidInput(f"body.strategy must be one of {', '.join(sorted(STRATEGIES))}")
    data = body.nested("resolved_data")
    key = idempotency_key(request)
    if strategy == "node_wins":
        entity, applied = _current(node, entity_type, local_id), False
    elif entity_type == "customer":
        customer = node.store.upsert_customer(key=key, local_id=local_id, details=customer_details(data))
        entity, applied = customer_view(customer), True
    else:
        entity, applied = _apply_booking_resolution(node, key, local_id, data), True
    return JSONResponse({"conflict_id": conflict_id, "status": "resolved", "applied": applied, "entity": entity})
