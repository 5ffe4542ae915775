"""A BookingX site with the network add-on: the REST API the hub talks to, over the site's own `LocationStore`.

All paths are under ``/wp-json/bookingx-network/v1``. The spec's hub-to-node calls keep
its paths; the rest of what the gateway needs is added in the same REST style.

Spec (§3 API Integration Points):
    POST /handshake              {"node_id", "api_key", "timestamp", "signature"} -> {"token", "expires_in", "node_id",
                                 "version"}; signature = hex HMAC-SHA256(api_secret, f"{timestamp}.{api_key}"),
                                 timestamp Unix seconds within ±300 s. Public; 403 FORBIDDEN when refused.
    POST /sync                   {"since": iso|null, "entities": [bookings|customers|inventory]} -> changes since;
                                 or paged (added): {"entity_type": customers|services|bookings|resources|inventory,
                                 "cursor": {"changed_at", "key"}|null, "limit": 1..1000} -> {"node_id",
                                 "entity_type", "records": [...], "next_cursor": {"changed_at", "key"}|null,
                                 "has_more"}: records ordered by (updated_at, key) strictly after the cursor, key
                                 the local id (sku for stock); next_cursor is the last record's (the cursor sent
                                 back when the page is empty). Deleted records are simply absent.
    GET  /resources              -> {"resources": [...]} (own ones and those lent in: "owned": false)
    POST /bookings               create -> 201 booking; 409 SLOT_UNAVAILABLE when taken
    PUT  /customers              upsert (by local_customer_id, else by global_customer_id, else new) -> customer
    GET  /inventory              -> {"inventory": [...]}
    POST /staff                  register staff lent in by another node -> 201 resource
    GET  /analytics?from=&to=    bookings by status, earned revenue
    POST /sync/conflict-resolve  {"conflict_id", "entity_type", "local_id", "strategy", "resolved_data"}
Added:
    GET  /health                              -> {"status", "node_id", "version", "time"} (public)
    GET  /services                            -> {"services": [...]} (each with "version", "updated_at";
                                                 an inactive one stays listed with "is_active": false)
    GET  /bookings?changed_since=             -> {"bookings": [...], "server_time"}
    PUT  /bookings/{booking_id}               reschedule {"start_at", "end_at", "local_resource_id"?}
    POST /bookings/{booking_id}/cancel        {"reason"}
    GET  /customers?changed_since=            -> {"customers": [...], "server_time"}
    POST /customers/merge                     {"keep_local_customer_id", "remove_local_customer_id"}
    GET  /availability?service_id=&from=&to=  -> {"slots": [{"local_resource_id", "start_at", "end_at"}]}
    POST /resources/{resource_id}/shares      {"node_id", "sharing_rules"} -> 201
    DELETE /resources/{resource_id}/shares/{node_id}                 -> 204
    POST /inventory/{sku}/adjust|reserve|release  {"delta", "reason", "reference"} / {"quantity", "reference"}

Every call but handshake and health needs ``Authorization: Bearer <token>`` (401
AUTH_FAILED otherwise). Writes honour ``Idempotency-Key``. Customers, bookings,
resources and stock carry ``version`` (bumped on every change) and ``updated_at``; the
customer upsert, reschedule and cancel bodies take an optional ``"expected_version"``
and are refused with 409 STALE_VERSION when the record has another version. Answers
are gzipped when the caller accepts it (the spec's enable_compression). Errors are
``{"code", "message"}``: 404 NOT_FOUND, 409 SLOT_UNAVAILABLE|CONFLICT|STALE_VERSION, 422
INVALID_INPUT|INSUFFICIENT_STOCK, 401 AUTH_FAILED, 403 FORBIDDEN; an unknown path is 404
NO_ROUTE (not NOT_FOUND: nothing was looked up).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devnet.simulators import bookingx_handlers as h
from devnet.simulators import bookingx_network as n
from devnet.simulators.bookingx_auth import TokenRegistry
from devnet.simulators.bookingx_wire import PREFIX, ApiError, BookingXNode, error_response
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoreError

Handler = Callable[[BookingXNode, Request], Awaitable[Response]]
STATUS_OF_CODE = {
    "NOT_FOUND": 404,
    "SLOT_UNAVAILABLE": 409,
    "CONFLICT": 409,
    "STALE_VERSION": 409,
    "INVALID_INPUT": 422,
    "INSUFFICIENT_STOCK": 422,
    "FORBIDDEN": 403,
}
GZIP_MINIMUM_BYTES = 1024  # smaller answers are not worth compressing
ID_PREFIXES = {"booking": "BK", "customer": "C", "service": "SV", "staff": "S", "room": "R", "equipment": "E"}


def bookingx_local_ids(seed: int) -> Callable[[str], str]:
    """Auto-increment ids with a prefix (``BK-80412``, ``C-12007``), as a BookingX site issues them.

    Counters start above what the demo data gives these sites and grow with small gaps
    (other plugins write rows too); the same seed always yields the same ids.
    """
    rng = random.Random(seed)
    counters = {"booking": 80_000 + rng.randrange(20_000), "customer": 10_000 + rng.randrange(5_000)}

    def new_id(kind: str) -> str:
        counters[kind] = counters.get(kind, 1_000) + rng.randint(1, 3)
        return f"{ID_PREFIXES.get(kind, kind[:2].upper())}-{counters[kind]}"

    return new_id


def _never_reuse_ids(store: LocationStore) -> None:
    """Skip an id the store already holds (seeded data may use the same numbering); called under the store lock."""
    issue = store.new_id

    def fresh(kind: str) -> str:
        taken = store.bookings if kind == "booking" else store.customers if kind == "customer" else {}
        candidate = issue(kind)
        while candidate in taken:
            candidate = issue(kind)
        return candidate

    store.new_id = fresh


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _endpoint(
    node: BookingXNode, handler: Handler, *, public: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not public and not node.tokens.valid(_bearer(request)):
            return error_response(
                401, "AUTH_FAILED", "missing, unknown or expired token", {"WWW-Authenticate": "Bearer"}
            )
        try:
            return await handler(node, request)
        except ApiError as error:
            return error_response(error.status, error.code, error.message)
        except StoreError as error:
            return error_response(STATUS_OF_CODE.get(error.code, 422), error.code, error.message)

    return endpoint


async def _no_route(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "NO_ROUTE", 405: "METHOD_NOT_ALLOWED"}.get(status, "HTTP_ERROR")
    return error_response(status, code, f"{request.method} {request.url.path}: no such route")


def bookingx_app(
    store: LocationStore,
    *,
    node_id: str,
    api_key: str,
    api_secret: str,
    version: str = "2.1.0",
    token_ttl_seconds: int = 900,
) -> Starlette:
    """The node's ASGI app; `app.state.node` is the `BookingXNode` (tokens, reported status) for tests to turn."""
    node = BookingXNode(store, node_id, api_key, api_secret, version, TokenRegistry(token_ttl_seconds))
    _never_reuse_ids(store)
    table: list[tuple[str, str, Handler, bool]] = [
        ("POST", "/handshake", h.handshake, True),
        ("GET", "/health", h.health, True),
        ("POST", "/sync", n.sync, False),
        ("POST", "/sync/conflict-resolve", n.resolve_conflict, False),
        ("POST", "/staff", n.register_staff, False),
        ("GET", "/analytics", n.analytics, False),
        ("GET", "/services", h.list_services, False),
        ("GET", "/resources", h.list_resources, False),
        ("POST", "/resources/{resource_id}/shares", h.share_resource, False),
        ("DELETE", "/resources/{resource_id}/shares/{node_id}", h.unshare_resource, False),
        ("GET", "/bookings", h.list_bookings, False),
        ("POST", "/bookings", h.create_booking, False),
        ("PUT", "/bookings/{booking_id}", h.reschedule_booking, False),
        ("POST", "/bookings/{booking_id}/cancel", h.cancel_booking, False),
        ("GET", "/availability", h.availability, False),
        ("GET", "/customers", h.list_customers, False),
        ("PUT", "/customers", h.upsert_customer, False),
        ("POST", "/customers/merge", h.merge_customers, False),
        ("GET", "/inventory", h.list_inventory, False),
        ("POST", "/inventory/{sku}/adjust", h.adjust_stock, False),
        ("POST", "/inventory/{sku}/reserve", h.reserve_stock, False),
        ("POST", "/inventory/{sku}/release", h.release_stock, False),
    ]
    routes = [
        Route(PREFIX + path, _endpoint(node, handler, public=public), methods=[method])
        for method, path, handler, public in table
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _no_route},
        middleware=[Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)],
    )
    app.state.node = node
    return app
