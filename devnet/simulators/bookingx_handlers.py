"""The BookingX node's endpoints for the booking system itself: catalog, bookings, customers, slots, shares, stock.

Every handler takes the node and the request and either answers or raises `ApiError` /
`StoreError`; the app's wrapper turns those into {"code", "message"} answers and checks
the bearer token first. Writes pass the caller's `Idempotency-Key` to the store, so a
retried call is applied once and answers what the first one did.
"""

from __future__ import annotations

import time
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devnet.simulators.bookingx_auth import HandshakeRefused, verify_handshake
from devnet.simulators.bookingx_wire import (
    ApiError,
    Body,
    BookingXNode,
    InvalidInput,
    booking_view,
    customer_details,
    customer_view,
    idempotency_key,
    query_moment,
    resource_view,
    service_view,
    slot_view,
    stock_view,
)
from sources.cache.types import utc_now

MAX_AVAILABILITY_SPAN = timedelta(days=62)


def _shared_with(node: BookingXNode) -> dict[str, list[str]]:
    shares: dict[str, list[str]] = {}
    for resource_id, borrower in list(node.store.shares):
        shares.setdefault(resource_id, []).append(borrower)
    return shares


def _customer_by_global_id(node: BookingXNode, global_id: str | None) -> str | None:
    """The network add-on's customer mapping: a customer the network already linked here is not created twice."""
    if global_id is None:
        return None
    for customer in list(node.store.customers.values()):
        if customer.global_id == global_id:
            return customer.local_id
    return None


# -- auth and health -------------------------------------------------------------------------------
async def handshake(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    claimed = {
        "node_id": body.text("node_id"),
        "api_key": body.text("api_key"),
        "timestamp": body.integer("timestamp"),
        "signature": body.text("signature"),
    }
    try:
        verify_handshake(
            node_id=node.node_id, api_key=node.api_key, api_secret=node.api_secret, claimed=claimed, now=time.time()
        )
    except HandshakeRefused as refused:
        raise ApiError(403, "FORBIDDEN", str(refused)) from refused
    token = node.tokens.issue()
    return JSONResponse(
        {"token": token, "expires_in": node.tokens.ttl_seconds, "node_id": node.node_id, "version": node.version}
    )


async def health(node: BookingXNode, request: Request) -> Response:
    return JSONResponse(
        {"status": node.status, "node_id": node.node_id, "version": node.version, "time": utc_now().isoformat()}
    )


# -- catalog ---------------------------------------------------------------------------------------
async def list_services(node: BookingXNode, request: Request) -> Response:
    return JSONResponse({"services": [service_view(s) for s in list(node.store.services.values())]})


async def list_resources(node: BookingXNode, request: Request) -> Response:
    shares = _shared_with(node)
    resources = list(node.store.resources.values())
    return JSONResponse({"resources": [resource_view(r, shares.get(r.local_id, [])) for r in resources]})


async def share_resource(node: BookingXNode, request: Request) -> Response:
    resource_id = request.path_params["resource_id"]
    body = await Body.read(request)
    borrower = body.text("node_id")
    rules = body.mapping("sharing_rules")
    if borrower == node.node_id:
        raise InvalidInput("a resource cannot be shared with its own node")
    resource = node.store.resources.get(resource_id)
    if resource is not None and not resource.owned:
        raise ApiError(403, "FORBIDDEN", f"{resource_id} is lent in by another node; only its owner shares it")
    node.store.share_resource(
        key=idempotency_key(request), local_resource_id=resource_id, with_location=borrower, rules=rules
    )
    return JSONResponse({"local_resource_id": resource_id, "node_id": borrower, "sharing_rules": rules}, 201)


async def unshare_resource(node: BookingXNode, request: Request) -> Response:
    node.store.unshare_resource(
        key=idempotency_key(request),
        local_resource_id=request.path_params["resource_id"],
        with_location=request.path_params["node_id"],
    )
    return Response(status_code=204)


# -- bookings --------------------------------------------------------------------------------------
async def list_bookings(node: BookingXNode, request: Request) -> Response:
    server_time = utc_now()  # read before the records, so a caller using it as its next cursor skips nothing
    since = query_moment(request, "changed_since", required=False)
    bookings = node.store.bookings_changed_since(since)
    return JSONResponse({"bookings": [booking_view(node, b) for b in bookings], "server_time": server_time.isoformat()})


async def create_booking(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    customer = body.nested("customer") if body.has("customer") else Body({}, "body.customer")
    local_customer_id = body.optional_text("local_customer_id")
    if local_customer_id is None and not customer.data:
        raise InvalidInput("a booking needs local_customer_id or customer")
    details = customer_details(customer)
    local_customer_id = local_customer_id or _customer_by_global_id(node, details.get("global_id"))
    body.optional_text("originating_node_id")  # checked only: the revenue split is the hub's business
    booking = node.store.create_booking(
        key=idempotency_key(request),
        local_customer_id=local_customer_id,
        customer=details,
        local_service_id=body.text("local_service_id"),
        local_resource_id=body.optional_text("local_resource_id"),
        start_at=body.moment("start_at"),
        end_at=body.moment("end_at"),
        price_minor=body.integer("price_minor", minimum=0),
        currency=body.text("currency"),
        notes=body.optional_text("notes") or "",
        global_id=body.optional_text("global_booking_id"),
    )
    return JSONResponse(booking_view(node, booking), status_code=201)


async def reschedule_booking(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    booking = node.store.reschedule_booking(
        key=idempotency_key(request),
        local_id=request.path_params["booking_id"],
        start_at=body.moment("start_at"),
        end_at=body.moment("end_at"),
        local_resource_id=body.optional_text("local_resource_id"),
        expected_version=body.optional_integer("expected_version", minimum=1),
    )
    return JSONResponse(booking_view(node, booking))


async def cancel_booking(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    booking = node.store.cancel_booking(
        key=idempotency_key(request),
        local_id=request.path_params["booking_id"],
        reason=body.optional_text("reason") or "",
        expected_version=body.optional_integer("expected_version", minimum=1),
    )
    return JSONResponse(booking_view(node, booking))


async def availability(node: BookingXNode, request: Request) -> Response:
    service_id = request.query_params.get("service_id")
    if not service_id:
        raise InvalidInput("service_id is required")
    start = query_moment(request, "from", required=True)
    end = query_moment(request, "to", required=True)
    assert start is not None and end is not None  # required=True never answers None
    if end <= start:
        raise InvalidInput("to must be after from")
    if end - start > MAX_AVAILABILITY_SPAN:
        raise InvalidInput(f"ask for at most {MAX_AVAILABILITY_SPAN.days} days at a time")
    slots = node.store.free_slots(service_id, start, end)
    return JSONResponse(
        {
            "local_service_id": service_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "slots": [
                slot_view(node, resource_id, slot_start, slot_end) for resource_id, slot_start, slot_end in slots
            ],
        }
    )


# -- customers -------------------------------------------------------------------------------------
async def list_customers(node: BookingXNode, request: Request) -> Response:
    server_time = utc_now()
    since = query_moment(request, "changed_since", required=False)
    customers = node.store.customers_changed_since(since)
    return JSONResponse({"customers": [customer_view(c) for c in customers], "server_time": server_time.isoformat()})


async def upsert_customer(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    details = customer_details(body)
    local_id = body.optional_text("local_customer_id") or _customer_by_global_id(node, details.get("global_id"))
    if local_id is None and not (details.get("first_name") or details.get("last_name") or details.get("email")):
        raise InvalidInput("a new customer needs a name or an email")
    customer = node.store.upsert_customer(
        key=idempotency_key(request),
        local_id=local_id,
        details=details,
        expected_version=body.optional_integer("expected_version", minimum=1),
    )
    return JSONResponse(customer_view(customer), status_code=201 if local_id is None else 200)


async def merge_customers(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    keep, remove = body.text("keep_local_customer_id"), body.text("remove_local_customer_id")
    if keep == remove:
        raise InvalidInput("a customer cannot be merged into themselves")
    kept = node.store.merge_customers(key=idempotency_key(request), keep_local_id=keep, remove_local_id=remove)
    return JSONResponse(customer_view(kept))


# -- stock -----------------------------------------------------------------------------------------
async def list_inventory(node: BookingXNode, request: Request) -> Response:
    return JSONResponse({"inventory": [stock_view(level) for level in node.store.snapshot_stock()]})


async def adjust_stock(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    delta = body.integer("delta")
    if delta == 0:
        raise InvalidInput("delta must not be zero")
    body.text("reason")
    body.optional_text("reference")
    # Stock arriving for an item this site never held (a transfer in) opens a level for it.
    level = node.store.change_stock(
        key=idempotency_key(request), sku=request.path_params["sku"], delta=delta, create=delta > 0
    )
    return JSONResponse(stock_view(level))


async def reserve_stock(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    quantity = body.integer("quantity", minimum=1)
    body.optional_text("reference")
    level = node.store.reserve_stock(key=idempotency_key(request), sku=request.path_params["sku"], quantity=quantity)
    return JSONResponse(stock_view(level))


async def release_stock(node: BookingXNode, request: Request) -> Response:
    body = await Body.read(request)
    quantity = body.integer("quantity", minimum=1)
    body.optional_text("reference")
    level = node.store.release_stock(key=idempotency_key(request), sku=request.path_params["sku"], quantity=quantity)
    return JSONResponse(stock_view(level))
