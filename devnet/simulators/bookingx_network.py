"""The BookingX node's network add-on endpoints: delta sync, lent-in staff, analytics, conflict resolution.

These are the spec's hub-to-node calls that are about the network rather than one
booking: the hub pulls what changed, registers staff another node lends this one, reads
figures, and tells the node how a conflict it was part of was settled.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devnet.simulators.bookingx_wire import (
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
    service_view,
    stock_view,
)
from devnet.simulators.store_feed import position
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService, Versioned
from sources.cache.types import utc_now

SYNC_ENTITIES = ("bookings", "customers", "inventory")
PAGED_ENTITIES = ("customers", "services", "resources", "bookings", "inventory")  # the hub's sync_priority_order
MAX_SYNC_LIMIT = 1000
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


def _record_view(node: BookingXNode, record: Versioned) -> dict[str, Any]:
    if isinstance(record, StoredCustomer):
        return customer_view(record)
    if isinstance(record, StoredBooking):
        return booking_view(node, record)
    if isinstance(record, StoredService):
        return service_view(record)
    if isinstance(record, StoredResource):
        shared = [borrower for resource_id, borrower in list(node.store.shares) if resource_id == record.local_id]
        return resource_view(record, shared)
    return stock_view(record)


def _cursor_view(record: Versioned) -> dict[str, str]:
    changed_at, key = position(record)
    return {"changed_at": changed_at.isoformat(), "key": key}


async def _sync_page(node: BookingXNode, body: Body) -> Response:
    """The paged form: one entity type, strictly after a (changed_at, key) cursor, at most `limit` records."""
    entity_type = body.text("entity_type")
    if entity_type not in PAGED_ENTITIES:
        raise InvalidInput(f"body.entity_type must be one of {', '.join(PAGED_ENTITIES)}")
    limit = body.integer("limit", minimum=1)
    if limit > MAX_SYNC_LIMIT:
        raise InvalidInput(f"body.limit must be at most {MAX_SYNC_LIMIT}")
    after = None
    if body.data.get("cursor") is not None:
        cursor = body.nested("cursor")
        after = (cursor.moment("changed_at").astimezone(UTC), cursor.text("key"))
    # One more than asked says whether another page follows without a second query.
    records = node.store.changes_after(entity_type, after, limit + 1)
    page = records[:limit]
    answer: dict[str, Any] = {
        "node_id": node.node_id,
        "entity_type": entity_type,
        "records": [_record_view(node, record) for record in page],
        "next_cursor": _cursor_view(page[-1]) if page else body.data.get("cursor"),
        "has_more": len(records) > limit,
    }
    return JSONResponse(answer)


async def sync(node: BookingXNode, request: Request) -> Response:
    """POST /sync: the spec's {"since", "entities"} (everything changed since), or the paged
    {"entity_type", "cursor", "limit"} form (see the module docstring of `bookingx`)."""
    server_time = utc_now()  # taken first: the hub's next cursor must not skip what changes while we read
    body = await Body.read(request)
    if body.has("entity_type"):
        return await _sync_page(node, body)
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
        # Registered again (renamed, new skill): the same record at its next version.
        lent.version = 0 if known is None else known.version
        store.touch(lent)
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
