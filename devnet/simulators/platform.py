"""A Booksy-like salon/fitness booking platform, served over real HTTP from a `LocationStore`.

The API (what `sources.connectors.platform.PlatformConnector` speaks):

Auth -- OAuth2 client credentials.
    ``POST /oauth/token`` with a form or JSON body ``grant_type=client_credentials``,
    ``client_id``, ``client_secret`` -> 200 ``{"access_token", "token_type": "Bearer",
    "expires_in"}``. Bad credentials -> 401 ``invalid_client``; another grant -> 400
    ``unsupported_grant_type``. Every ``/v1`` call needs ``Authorization: Bearer <token>``;
    a missing, unknown or expired token -> 401 ``invalid_token``.

Rate limits -- a token bucket per client (``rate_limit_per_second`` refill, ``burst`` deep)
    on ``/v1``. Over the limit -> 429 ``{"error": "rate_limited"}`` with ``Retry-After`` in
    seconds, fractional below one second (``"0.2"``).

Resources (JSON; appointment times in the business's local time with offset, ``updated_at``
in UTC; prices ``{"amount": "45.00", "currency": "GBP"}``):
    ``GET  /v1/business``              -> ``{name, status: active, api_version, timezone, currency}``
    ``GET  /v1/services``              -> ``{services: [{id, name, category, required_skill,
                                           duration_minutes, price, bookable}]}``
    ``GET  /v1/staff``                 -> ``{staff: [{id, type: staff|room|equipment, display_name,
                                           position, skill, capacity, active}]}``
    ``GET  /v1/customers?updated_since=&page=&per_page=``
                                       -> ``{customers: [...], page, per_page, total, next_page}``
    ``GET  /v1/appointments?updated_since=&page=&per_page=``
                                       -> ``{appointments: [{id, client_id, service_id, staff_id,
                                           starts_at, ends_at, status, price, note, revision,
                                           external_reference, updated_at}], page, per_page, total,
                                           next_page}`` (``next_page`` null on the last page;
                                           pages are ordered by ``updated_at``, then id; per_page <= 100)
    ``GET  /v1/availability?service_id=&start=&end=`` -> ``{slots: [{staff_id, starts_at, ends_at}]}``
                                           (window at most 31 days)
    ``GET  /v1/changes/{customers|appointments|staff}?updated_after=&after_id=&limit=``
                                       -> ``{<collection>: [...], has_more, next: {updated_after, after_id}|null}``
                                           the delta feed: rows ordered by (``updated_at``, ``id``) strictly
                                           after the pair given (both or neither), ``limit`` <= 100; ``next``
                                           is the last row's pair (the one sent when the page is empty).
                                           A deleted row is simply no longer there.
    ``POST /v1/appointments``          ``{service_id, staff_id?, starts_at, ends_at, client_id?,
                                        client: {first_name, last_name, email, mobile,
                                        external_reference}, price, note?, external_reference?}`` -> 201
    ``PATCH /v1/appointments/{id}``    ``{starts_at, ends_at, staff_id?}`` -> 200 appointment
    ``POST /v1/appointments/{id}/cancel`` ``{reason?}`` -> 200 appointment
    ``POST /v1/customers``             ``{first_name, last_name, email?, mobile?, external_reference?,
                                        preferences?}`` -> 201 customer
    ``PATCH /v1/customers/{id}``       any of those fields -> 200 customer
    ``POST /v1/customers/{id}/merge``  ``{client_id: <duplicate merged into {id}, then removed>}`` -> 200

Statuses: ``booked|confirmed|finished|cancelled|no_show``. Writes honour an ``Idempotency-Key``
header (scoped per method and path): a replay answers the first result without writing again.
Customers, staff and appointments carry ``revision`` (bumped on every change); PATCH and the
cancel take ``If-Match: "<revision>"`` and answer 412 ``precondition_failed`` when the row
has another. Answers are gzipped for callers that accept it. There is no stock and no
resource sharing on a platform.

Errors: ``{"error": "<code>", "error_description": "..."}`` -- 404 ``not_found``, 409
``slot_unavailable`` / ``conflict``, 412 ``precondition_failed``, 422 ``invalid_request``,
401 ``invalid_token`` / ``invalid_client``, 429 ``rate_limited``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devnet.simulators.platform_auth import PlatformAuth, retry_after_header
from devnet.simulators.platform_wire import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    InvalidRequest,
    appointment_out,
    body_object,
    customer_in,
    customer_out,
    error,
    if_match_revision,
    json_body,
    moment_in,
    paginate,
    price_in,
    query_int,
    service_out,
    staff_out,
    text,
    time_out,
    write_key,
)
from devnet.simulators.store import LocationStore
from devnet.simulators.store_feed import position
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoreError

API_VERSION = "2.3"
MAX_AVAILABILITY_WINDOW = timedelta(days=31)
Handler = Callable[[Request], Awaitable[Response]]

_STORE_ERRORS = {  # StoreError code -> (HTTP status, platform error code)
    "NOT_FOUND": (404, "not_found"),
    "SLOT_UNAVAILABLE": (409, "slot_unavailable"),
    "CONFLICT": (409, "conflict"),
    "STALE_VERSION": (412, "precondition_failed"),
    "INSUFFICIENT_STOCK": (409, "conflict"),
    "INVALID_INPUT": (422, "invalid_request"),
    "FORBIDDEN": (403, "forbidden"),
}
CHANGE_FEEDS = {"customers": "customers", "appointments": "bookings", "staff": "resources"}  # -> store kinds
GZIP_MINIMUM_BYTES = 1024
_ID_PREFIXES = {"booking": "bksy_bk", "customer": "bksy", "service": "bksy_svc"}


def platform_local_ids(seed: int) -> Callable[[str], str]:
    """Opaque platform ids (``bksy_bk_3fa29c01b7``) from a seeded RNG; never repeats within one generator."""
    rng = random.Random(f"platform-local-ids:{seed}")  # not the demo's sequence, so no clash with seeded ids
    issued: set[str] = set()

    def new_id(kind: str) -> str:
        prefix = _ID_PREFIXES.get(kind, f"bksy_{kind[:3]}")
        while True:
            candidate = f"{prefix}_{rng.getrandbits(40):010x}"
            if candidate not in issued:
                issued.add(candidate)
                return candidate

    return new_id


def platform_auth(app: Starlette) -> PlatformAuth:
    """The app's token and rate-limit state, for tests that revoke tokens or count them."""
    auth: PlatformAuth = app.state.platform_auth
    return auth


class PlatformRoutes:
    def __init__(self, store: LocationStore, auth: PlatformAuth) -> None:
        self.store = store
        self.auth = auth

    def guarded(self, handler: Handler) -> Handler:
        """Bearer token, then rate limit, then the handler with store refusals turned into API errors."""

        async def endpoint(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            client_id = self.auth.client_for(token.strip()) if scheme.lower() == "bearer" else None
            if client_id is None:
                return error(401, "invalid_token", "the access token is missing, unknown or expired")
            wait = self.auth.wait_before(client_id)
            if wait > 0:
                return error(429, "rate_limited", "too many requests", {"Retry-After": retry_after_header(wait)})
            try:
                return await handler(request)
            except InvalidRequest as failure:
                return error(422, "invalid_request", str(failure))
            except StoreError as failure:
                status, code = _STORE_ERRORS.get(failure.code, (422, "invalid_request"))
                return error(status, code, failure.message)

        return endpoint

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        fields: dict[str, Any]
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                fields = body_object(json.loads(raw or b"{}"))
            except (ValueError, InvalidRequest):
                return error(400, "invalid_request", "the body is not a JSON object")
        else:
            fields = {name: values[0] for name, values in parse_qs(raw.decode("utf-8", "replace")).items()}
        if fields.get("grant_type") != "client_credentials":
            return error(400, "unsupported_grant_type", "only client_credentials is supported")
        client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            return error(401, "invalid_client", "client_id and client_secret are required")
        token = self.auth.issue(client_id, client_secret)
        if token is None:
            return error(401, "invalid_client", "unknown client or wrong secret")
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.auth.token_ttl_seconds}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def business(self, request: Request) -> Response:
        store = self.store
        return JSONResponse(
            {
                "name": store.location_id,
                "status": "active",
                "api_version": API_VERSION,
                "timezone": str(store.zone),
                "currency": store.currency,
            }
        )

    async def services(self, request: Request) -> Response:
        return JSONResponse({"services": [service_out(s) for s in list(self.store.services.values())]})

    async def staff(self, request: Request) -> Response:
        # Resources lent in from elsewhere do not exist for a platform: it has no sharing.
        owned = [r for r in list(self.store.resources.values()) if r.owned]
        return JSONResponse({"staff": [staff_out(r) for r in owned]})

    async def customers(self, request: Request) -> Response:
        since = request.query_params.get("updated_since")
        rows = self.store.customers_changed_since(None if since is None else moment_in(since, "updated_since"))
        rows.sort(key=lambda c: (c.updated_at, c.local_id))
        return JSONResponse(paginate(request, "customers", [customer_out(c) for c in rows]))

    async def appointments(self, request: Request) -> Response:
        since = request.query_params.get("updated_since")
        rows = self.store.bookings_changed_since(None if since is None else moment_in(since, "updated_since"))
        rows.sort(key=lambda b: (b.updated_at, b.local_id))
        zone = self.store.zone
        return JSONResponse(paginate(request, "appointments", [appointment_out(b, zone) for b in rows]))

    async def changes(self, request: Request) -> Response:
        collection = request.path_params["collection"]
        kind = CHANGE_FEEDS.get(collection)
        if kind is None:
            return error(404, "not_found", f"no change feed for {collection}")
        query = request.query_params
        after_time, after_id = query.get("updated_after"), query.get("after_id")
        if (after_time is None) != (after_id is None):
            raise InvalidRequest("updated_after and after_id go together")
        after = None if after_time is None or after_id is None else (moment_in(after_time, "updated_after"), after_id)
        limit = query_int(request, "limit", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        scanned = self.store.changes_after(kind, after, limit + 1)
        page = scanned[:limit]
        rows: list[dict[str, Any]] = []
        for record in page:
            if isinstance(record, StoredCustomer):
                rows.append(customer_out(record))
            elif isinstance(record, StoredBooking):
                rows.append(appointment_out(record, self.store.zone))
            elif isinstance(record, StoredResource) and record.owned:  # lent-in staff do not exist here
                rows.append(staff_out(record))
        last = position(page[-1]) if page else after
        following = None if last is None else {"updated_after": time_out(last[0]), "after_id": last[1]}
        return JSONResponse({collection: rows, "has_more": len(scanned) > limit, "next": following})

    async def availability(self, request: Request) -> Response:
        query = request.query_params
        service_id = query.get("service_id")
        if not service_id:
            raise InvalidRequest("service_id is required")
        start, end = moment_in(query.get("start"), "start"), moment_in(query.get("end"), "end")
        if end <= start or end - start > MAX_AVAILABILITY_WINDOW:
            raise InvalidRequest("end must be after start, at most 31 days later")
        zone = self.store.zone
        slots = [
            {
                "staff_id": resource_id,
                "starts_at": s.astimezone(zone).isoformat(),
                "ends_at": e.astimezone(zone).isoformat(),
            }
            for resource_id, s, e in self.store.free_slots(service_id, start, end)
        ]
        return JSONResponse({"slots": slots})

    async def create_appointment(self, request: Request) -> Response:
        body = await json_body(request)
        client = body_object(body.get("client") or {})
        details = customer_in(client, partial=True)
        price_minor, currency = price_in(body.get("price"))
        booking = self.store.create_booking(
            key=write_key(request),
            local_customer_id=text(body, "client_id", required=False),
            customer=details,
            local_service_id=text(body, "service_id") or "",
            local_resource_id=text(body, "staff_id", required=False),
            start_at=moment_in(body.get("starts_at"), "starts_at"),
            end_at=moment_in(body.get("ends_at"), "ends_at"),
            price_minor=price_minor,
            currency=currency,
            notes=text(body, "note", required=False) or "",
            global_id=text(body, "external_reference", required=False),
        )
        return JSONResponse(appointment_out(booking, self.store.zone), status_code=201)

    async def reschedule_appointment(self, request: Request) -> Response:
        body = await json_body(request)
        booking = self.store.reschedule_booking(
            key=write_key(request),
            local_id=request.path_params["appointment_id"],
            start_at=moment_in(body.get("starts_at"), "starts_at"),
            end_at=moment_in(body.get("ends_at"), "ends_at"),
            local_resource_id=text(body, "staff_id", required=False),
            expected_version=if_match_revision(request),
        )
        return JSONResponse(appointment_out(booking, self.store.zone))

    async def cancel_appointment(self, request: Request) -> Response:
        body = await json_body(request)
        booking = self.store.cancel_booking(
            key=write_key(request),
            local_id=request.path_params["appointment_id"],
            reason=text(body, "reason", required=False) or "",
            expected_version=if_match_revision(request),
        )
        return JSONResponse(appointment_out(booking, self.store.zone))

    async def create_customer(self, request: Request) -> Response:
        details = customer_in(await json_body(request), partial=False)
        customer = self.store.upsert_customer(key=write_key(request), local_id=None, details=details)
        return JSONResponse(customer_out(customer), status_code=201)

    async def update_customer(self, request: Request) -> Response:
        details = customer_in(await json_body(request), partial=True)
        customer_id = request.path_params["customer_id"]
        customer = self.store.upsert_customer(
            key=write_key(request),
            local_id=customer_id,
            details=details,
            expected_version=if_match_revision(request),
        )
        return JSONResponse(customer_out(customer))

    async def merge_customer(self, request: Request) -> Response:
        body = await json_body(request)
        duplicate = text(body, "client_id") or ""
        keep = request.path_params["customer_id"]
        if duplicate == keep:
            raise InvalidRequest("a customer cannot be merged into itself")
        customer = self.store.merge_customers(key=write_key(request), keep_local_id=keep, remove_local_id=duplicate)
        return JSONResponse(customer_out(customer))


def platform_app(
    store: LocationStore,
    *,
    client_id: str,
    client_secret: str,
    rate_limit_per_second: float = 100.0,
    burst: int = 100,
    token_ttl_seconds: int = 3600,
) -> Starlette:
    auth = PlatformAuth(
        client_id=client_id,
        client_secret=client_secret,
        token_ttl_seconds=token_ttl_seconds,
        rate_per_second=rate_limit_per_second,
        burst=burst,
    )
    api = PlatformRoutes(store, auth)
    guard = api.guarded
    routes = [
        Route("/oauth/token", api.token, methods=["POST"]),
        Route("/v1/business", guard(api.business), methods=["GET"]),
        Route("/v1/services", guard(api.services), methods=["GET"]),
        Route("/v1/staff", guard(api.staff), methods=["GET"]),
        Route("/v1/customers", guard(api.customers), methods=["GET"]),
        Route("/v1/customers", guard(api.create_customer), methods=["POST"]),
        Route("/v1/customers/{customer_id}", guard(api.update_customer), methods=["PATCH"]),
        Route("/v1/customers/{customer_id}/merge", guard(api.merge_customer), methods=["POST"]),
        Route("/v1/appointments", guard(api.appointments), methods=["GET"]),
        Route("/v1/appointments", guard(api.create_appointment), methods=["POST"]),
        Route("/v1/appointments/{appointment_id}", guard(api.reschedule_appointment), methods=["PATCH"]),
        Route("/v1/appointments/{appointment_id}/cancel", guard(api.cancel_appointment), methods=["POST"]),
        Route("/v1/availability", guard(api.availability), methods=["GET"]),
        Route("/v1/changes/{collection}", guard(api.changes), methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)])

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, "not_found", f"no such endpoint {request.method} {request.url.path}")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    app.state.platform_auth = auth
    return app
