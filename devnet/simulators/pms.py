"""A simulated hotel PMS (rht-hotel) speaking the booking-engine API of specs/hotel-pms-booking-engine.md.

Paths from the spec (§1.1), all under ``/api/booking-engine``:

- ``POST /auth/token`` ``{"api_key"}`` -> ``{"token", "token_type": "Bearer", "expires_in"}``. Added: the spec
  asks for short-lived JWTs (§1.2) obtained with an API key (§1.3) but names no endpoint for it.
- ``POST /auth/validate-token`` ``{"token"}`` -> ``{"valid": true, "hotel_id", "expires_at"}`` or
  ``{"valid": false, "reason"}``.
- ``GET /hotels/:hotel_id`` -> ``{"hotel": {"id", "name", "status", "version", "timezone", "currency",
  "check_in_time", "check_out_time"}}``; status is ``operational`` or ``degraded``.
- ``GET /room-types/:hotel_id`` -> ``{"room_types": [{"id", "code", "name", "category", "rate_per_night",
  "currency", "is_active"}]}``.
- ``GET /availability/:hotel_id?check_in=&check_out=[&room_type_id=]`` -> ``{"hotel_id", "check_in",
  "check_out", "nights", "room_types": [{"room_type_id", "code", "rate_per_night", "total", "currency",
  "available_count", "available_rooms": [{"room_id", "name"}]}]}``.
- ``POST /bookings`` ``{"hotel_id", "room_type_id", "room_id"?, "check_in", "check_out", "guest_id"?,
  "guest"?: {"first_name", "last_name", "email", "phone", "preferences", "external_reference"},
  "total_amount"?, "currency", "special_requests"?, "external_reference"?}`` -> 201 ``{"booking": ...}``.
  Without ``room_id`` the PMS picks a free room of the type; an unknown ``guest_id`` creates the guest.
- ``GET /bookings/:booking_id`` -> ``{"booking": ...}``.
- ``PUT /bookings/:booking_id`` ``{"check_in"?, "check_out"?, "room_id"?}`` -> ``{"booking": ...}``.
- ``DELETE /bookings/:booking_id[?reason=]`` -> ``{"booking": ...}`` with status ``cancelled``.

Added because the gateway's Connector protocol needs them and the spec lacks them:

- ``GET /bookings?hotel_id=[&updated_since=]`` -> ``{"bookings": [...]}`` (delta pull).
- ``GET /rooms/:hotel_id`` -> ``{"rooms": [{"id", "name", "description", "room_type_id", "room_type_code",
  "max_occupancy", "is_active"}]}``.
- ``GET /guests/:hotel_id[?updated_since=]`` -> ``{"guests": [{"id", "first_name", "last_name", "email",
  "phone", "loyalty_points", "preferences", "external_reference", "updated_at"}]}``.
- ``POST /guests`` ``{"hotel_id", "first_name", "last_name", ...}`` -> 201 ``{"guest": ...}``.
- ``PUT /guests/:guest_id`` (any guest fields) -> ``{"guest": ...}``.
- ``GET /sync/:hotel_id/(guests|reservations|rooms)?after=&after_id=&limit=`` -> ``{"<feed>": [...],
  "meta": {"has_more", "last": {"updated_at", "id"} | null}}``: the delta feed, rows ordered by
  (``updated_at``, ``id``) strictly after the pair given (both or neither; ``limit`` 1..500, default 100);
  ``last`` is the last row's pair (the one sent when the page is empty). A deleted row is just absent.

Guests, rooms and reservations carry ``version``, bumped on every change. ``PUT /bookings/:id`` and
``PUT /guests/:id`` take ``"version"`` in the body, ``DELETE /bookings/:id`` a ``?version=``: the
version the caller last saw; another version at the PMS -> 409 VERSION_CONFLICT, nothing changed.

A booking is ``{"id", "hotel_id", "status", "room_type_id", "room_id", "guest_id", "check_in", "check_out",
"nights", "total_amount", "currency", "special_requests", "external_reference", "version", "updated_at"}``;
status is one of provisory, confirmed, checked_out, cancelled, no_show. Dates are the hotel's local
dates (check-in 15:00, check-out 11:00 local), amounts decimal strings in major units, times ISO 8601.

Everything but the two auth endpoints needs ``Authorization: Bearer <token>``. Writes honour an
``Idempotency-Key`` header (a replay answers the first result). Errors are
``{"error": {"code", "message"}}``: VALIDATION_ERROR 400, UNAUTHORIZED 401 (missing, bad or expired
token; bad API key), FORBIDDEN 403 (token of another hotel), NOT_FOUND 404, ROOM_UNAVAILABLE 409,
VERSION_CONFLICT 409, and CONFLICT 409 (e.g. changing a cancelled reservation). Amenities, images,
pricing and auth/user from the spec are not simulated.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import Route

from devnet.simulators.pms_api import ERROR_HANDLERS, PmsApi, PmsHotel
from devnet.simulators.pms_auth import TokenIssuer
from devnet.simulators.store import LocationStore
from sources.cache.types import utc_now

PREFIX = "/api/booking-engine"


def pms_local_ids(seed: int) -> Callable[[str], str]:
    """Ids the way the PMS numbers things: ``RSV-2026-000123`` reservations, ``G-4711`` guests."""
    rng = random.Random(seed)
    counters = {"booking": rng.randrange(100, 5000), "customer": rng.randrange(1000, 9000)}

    def new_id(kind: str) -> str:
        counters[kind] = counters.get(kind, 0) + 1
        number = counters[kind]
        if kind == "booking":
            return f"RSV-{utc_now().year}-{number:06d}"
        if kind == "customer":
            return f"G-{number}"
        return f"{kind[:3].upper()}-{number}"

    return new_id


def pms_app(
    store: LocationStore,
    *,
    hotel_id: str,
    api_key: str,
    jwt_secret: str,
    token_ttl_seconds: int = 600,
    name: str | None = None,
    version: str = "2.4.1",
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The hotel's booking-engine API over `store`. `clock` (epoch seconds) decides token expiry.

    Stays span several days, so reservations never go through the store's opening-hours check;
    build the store with ``opening_hours=[[0, 24]] * 7`` so its own slot search agrees.
    """
    tokens = TokenIssuer(
        hotel_id=hotel_id, api_key=api_key, secret=jwt_secret, ttl_seconds=token_ttl_seconds, clock=clock
    )
    hotel = PmsHotel(hotel_id=hotel_id, name=name or store.location_id, version=version, tokens=tokens)
    api = PmsApi(store, hotel)
    routes = [
        Route(f"{PREFIX}/auth/token", api.issue_token, methods=["POST"]),
        Route(f"{PREFIX}/auth/validate-token", api.validate_token, methods=["POST"]),
        Route(f"{PREFIX}/hotels/{{hotel_id}}", api.hotel_info, methods=["GET"]),
        Route(f"{PREFIX}/room-types/{{hotel_id}}", api.room_types, methods=["GET"]),
        Route(f"{PREFIX}/rooms/{{hotel_id}}", api.rooms, methods=["GET"]),
        Route(f"{PREFIX}/availability/{{hotel_id}}", api.availability, methods=["GET"]),
        Route(f"{PREFIX}/bookings", api.list_bookings, methods=["GET"]),
        Route(f"{PREFIX}/bookings", api.create_booking, methods=["POST"]),
        Route(f"{PREFIX}/bookings/{{booking_id}}", api.get_booking, methods=["GET"]),
        Route(f"{PREFIX}/bookings/{{booking_id}}", api.update_booking, methods=["PUT"]),
        Route(f"{PREFIX}/bookings/{{booking_id}}", api.cancel_booking, methods=["DELETE"]),
        Route(f"{PREFIX}/guests", api.create_guest, methods=["POST"]),
        Route(f"{PREFIX}/guests/{{hotel_id}}", api.list_guests, methods=["GET"]),
        Route(f"{PREFIX}/guests/{{guest_id}}", api.update_guest, methods=["PUT"]),
        Route(f"{PREFIX}/sync/{{hotel_id}}/{{feed}}", api.changes, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers=ERROR_HANDLERS)
    app.state.hotel = hotel
    return app
