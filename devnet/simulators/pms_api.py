"""The handlers of the simulated hotel PMS; the API itself is described in `devnet.simulators.pms`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from devnet.simulators.pms_auth import TokenIssuer
from devnet.simulators.pms_payloads import (
    CHECK_IN_TIME,
    CHECK_OUT_TIME,
    STORE_ERRORS,
    PmsError,
    check_stay,
    format_amount,
    guest_details,
    guest_json,
    invalid,
    optional_text,
    parse_amount,
    parse_date,
    parse_instant,
    positive_integer,
    read_object,
    reservation_json,
    room_json,
    room_type_json,
    text,
)
from devnet.simulators.pms_reservations import (
    StayRequest,
    cancel_reservation,
    create_reservation,
    free_rooms,
    modify_reservation,
    upsert_guest,
)
from devnet.simulators.store import LocationStore
from devnet.simulators.store_feed import position
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoreError

CHANGE_FEEDS = {"guests": "customers", "reservations": "bookings", "rooms": "resources"}  # -> store kinds
DEFAULT_FEED_LIMIT = 100
MAX_FEED_LIMIT = 500


@dataclass
class PmsHotel:
    """What the app knows besides the store; tests flip `status` and read `tokens.issued`."""

    hotel_id: str
    name: str
    version: str
    tokens: TokenIssuer
    status: str = "operational"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _pms_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, PmsError)
    response = _error(error.status, error.code, error.message)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


async def _store_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, StoreError)
    status, code = STORE_ERRORS.get(error.code, (409, "CONFLICT"))
    return _error(status, code, error.message)


async def _http_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "NOT_FOUND", 405: "VALIDATION_ERROR"}.get(error.status_code, "VALIDATION_ERROR")
    return _error(error.status_code, code, str(error.detail))


class PmsApi:
    def __init__(self, store: LocationStore, hotel: PmsHotel) -> None:
        self.store = store
        self.hotel = hotel

    # -- helpers ---------------------------------------------------------------------------
    def _authorize(self, request: Request) -> None:
        self.hotel.tokens.authorize(request.headers.get("authorization"))

    def _this_hotel(self, hotel_id: Any) -> None:
        if isinstance(hotel_id, int) and not isinstance(hotel_id, bool):
            hotel_id = str(hotel_id)  # PMS hotel ids are numbers; clients send them either way
        if hotel_id != self.hotel.hotel_id:
            raise PmsError(404, "NOT_FOUND", f"no hotel {hotel_id}")

    def _since(self, request: Request) -> datetime | None:
        value = request.query_params.get("updated_since")
        return parse_instant(value, "updated_since") if value else None

    def _booking(self, booking_id: str) -> JSONResponse:
        # The locked copy, so a reservation being moved on another thread is never read half-moved.
        for booking in self.store.bookings_changed_since(None):
            if booking.local_id == booking_id:
                return JSONResponse({"booking": reservation_json(self.hotel.hotel_id, self.store.zone, booking)})
        raise PmsError(404, "NOT_FOUND", f"no reservation {booking_id}")

    # -- auth ------------------------------------------------------------------------------
    async def issue_token(self, request: Request) -> Response:
        body = await read_object(request)
        return JSONResponse(self.hotel.tokens.issue(body.get("api_key")))

    async def validate_token(self, request: Request) -> Response:
        token = text(await read_object(request), "token")
        try:
            claims = self.hotel.tokens.verify(token)
        except PmsError as error:
            return JSONResponse({"valid": False, "reason": error.message})
        expires_at = datetime.fromtimestamp(claims["exp"], UTC).isoformat()
        return JSONResponse({"valid": True, "hotel_id": claims["hotel_id"], "expires_at": expires_at})

    # -- hotel and catalog -----------------------------------------------------------------
    async def hotel_info(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        hotel = {
            "id": self.hotel.hotel_id,
            "name": self.hotel.name,
            "status": self.hotel.status,
            "version": self.hotel.version,
            "timezone": self.store.zone.key,
            "currency": self.store.currency,
            "check_in_time": CHECK_IN_TIME.strftime("%H:%M"),
            "check_out_time": CHECK_OUT_TIME.strftime("%H:%M"),
        }
        return JSONResponse({"hotel": hotel})

    async def room_types(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        return JSONResponse({"room_types": [room_type_json(s) for s in list(self.store.services.values())]})

    async def rooms(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        by_code = {s.skill: s for s in list(self.store.services.values()) if s.skill is not None}
        rooms = [room_json(r, by_code.get(r.skill) if r.skill else None) for r in list(self.store.resources.values())]
        return JSONResponse({"rooms": rooms})

    async def availability(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        params = request.query_params
        check_in = parse_date(params.get("check_in"), "check_in")
        check_out = parse_date(params.get("check_out"), "check_out")
        nights = check_stay(check_in, check_out)
        wanted = params.get("room_type_id")
        if wanted is not None and wanted not in self.store.services:
            raise PmsError(404, "NOT_FOUND", f"no room type {wanted}")
        answer = []
        for room_type in list(self.store.services.values()):
            if not room_type.is_active or (wanted is not None and room_type.local_id != wanted):
                continue
            free = free_rooms(self.store, room_type, check_in, check_out)
            answer.append(
                {
                    "room_type_id": room_type.local_id,
                    "code": room_type.skill,
                    "rate_per_night": format_amount(room_type.price_minor, room_type.currency),
                    "total": format_amount(nights * room_type.price_minor, room_type.currency),
                    "currency": room_type.currency,
                    "available_count": len(free),
                    "available_rooms": [{"room_id": room.local_id, "name": room.name} for room in free],
                }
            )
        return JSONResponse(
            {
                "hotel_id": self.hotel.hotel_id,
                "check_in": check_in.isoformat(),
                "check_out": check_out.isoformat(),
                "nights": nights,
                "room_types": answer,
            }
        )

    # -- bookings --------------------------------------------------------------------------
    async def list_bookings(self, request: Request) -> Response:
        self._authorize(request)
        hotel_id = request.query_params.get("hotel_id")
        if not hotel_id:
            raise invalid("hotel_id is required")
        self._this_hotel(hotel_id)
        bookings = self.store.bookings_changed_since(self._since(request))
        zone = self.store.zone
        return JSONResponse({"bookings": [reservation_json(self.hotel.hotel_id, zone, b) for b in bookings]})

    async def create_booking(self, request: Request) -> Response:
        self._authorize(request)
        body = await read_object(request)
        self._this_hotel(body.get("hotel_id"))
        currency = text(body, "currency")
        guest = body.get("guest") or {}
        if not isinstance(guest, dict):
            raise invalid("guest must be an object")
        total = body.get("total_amount")
        stay = StayRequest(
            room_type_id=text(body, "room_type_id"),
            room_id=optional_text(body, "room_id"),
            check_in=parse_date(body.get("check_in"), "check_in"),
            check_out=parse_date(body.get("check_out"), "check_out"),
            guest_id=optional_text(body, "guest_id"),
            guest=guest_details(guest, partial=True),
            total_minor=None if total is None else parse_amount(total, currency, "total_amount"),
            currency=currency,
            notes=optional_text(body, "special_requests") or "",
            external_reference=optional_text(body, "external_reference"),
        )
        booking = create_reservation(self.store, request.headers.get("idempotency-key"), stay)
        payload = {"booking": reservation_json(self.hotel.hotel_id, self.store.zone, booking)}
        return JSONResponse(payload, status_code=201)

    async def get_booking(self, request: Request) -> Response:
        self._authorize(request)
        return self._booking(request.path_params["booking_id"])

    async def update_booking(self, request: Request) -> Response:
        self._authorize(request)
        body = await read_object(request)
        booking = modify_reservation(
            self.store,
            request.headers.get("idempotency-key"),
            request.path_params["booking_id"],
            check_in=parse_date(body["check_in"], "check_in") if "check_in" in body else None,
            check_out=parse_date(body["check_out"], "check_out") if "check_out" in body else None,
            room_id=optional_text(body, "room_id"),
            expected_version=positive_integer(body.get("version"), "version"),
        )
        return JSONResponse({"booking": reservation_json(self.hotel.hotel_id, self.store.zone, booking)})

    async def cancel_booking(self, request: Request) -> Response:
        self._authorize(request)
        reason = request.query_params.get("reason", "")
        booking = cancel_reservation(
            self.store,
            request.headers.get("idempotency-key"),
            request.path_params["booking_id"],
            reason,
            positive_integer(request.query_params.get("version"), "version"),
        )
        return JSONResponse({"booking": reservation_json(self.hotel.hotel_id, self.store.zone, booking)})

    # -- delta feed ------------------------------------------------------------------------
    async def changes(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        feed = request.path_params["feed"]
        kind = CHANGE_FEEDS.get(feed)
        if kind is None:
            raise PmsError(404, "NOT_FOUND", f"no change feed {feed}")
        params = request.query_params
        after_time, after_id = params.get("after"), params.get("after_id")
        if (after_time is None) != (after_id is None):
            raise invalid("after and after_id go together")
        after = None if after_time is None or after_id is None else (parse_instant(after_time, "after"), after_id)
        limit = positive_integer(params.get("limit"), "limit") or DEFAULT_FEED_LIMIT
        if limit > MAX_FEED_LIMIT:
            raise invalid(f"limit must be at most {MAX_FEED_LIMIT}")
        scanned = self.store.changes_after(kind, after, limit + 1)
        page = scanned[:limit]
        by_code = {s.skill: s for s in list(self.store.services.values()) if s.skill is not None}
        rows: list[dict[str, Any]] = []
        for record in page:
            if isinstance(record, StoredCustomer):
                rows.append(guest_json(record))
            elif isinstance(record, StoredBooking):
                rows.append(reservation_json(self.hotel.hotel_id, self.store.zone, record))
            elif isinstance(record, StoredResource) and record.owned:  # the hotel's own rooms only
                rows.append(room_json(record, by_code.get(record.skill) if record.skill else None))
        last = position(page[-1]) if page else after
        meta = {
            "has_more": len(scanned) > limit,
            "last": None if last is None else {"updated_at": last[0].astimezone(UTC).isoformat(), "id": last[1]},
        }
        return JSONResponse({feed: rows, "meta": meta})

    # -- guests ----------------------------------------------------------------------------
    async def list_guests(self, request: Request) -> Response:
        self._authorize(request)
        self._this_hotel(request.path_params["hotel_id"])
        guests = self.store.customers_changed_since(self._since(request))
        return JSONResponse({"guests": [guest_json(guest) for guest in guests]})

    async def create_guest(self, request: Request) -> Response:
        self._authorize(request)
        body = await read_object(request)
        self._this_hotel(body.get("hotel_id"))
        details = guest_details(body, partial=False)
        guest = upsert_guest(self.store, request.headers.get("idempotency-key"), None, details)
        return JSONResponse({"guest": guest_json(guest)}, status_code=201)

    async def update_guest(self, request: Request) -> Response:
        self._authorize(request)
        body = await read_object(request)
        details = guest_details(body, partial=True)
        guest_id = request.path_params["guest_id"]
        expected = positive_integer(body.get("version"), "version")
        guest = upsert_guest(self.store, request.headers.get("idempotency-key"), guest_id, details, expected)
        return JSONResponse({"guest": guest_json(guest)})


ERROR_HANDLERS = {PmsError: _pms_error, StoreError: _store_error, HTTPException: _http_error}
