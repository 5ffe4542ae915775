"""Stays booked through the engine: POST bookings, GET / PUT / DELETE bookings/{booking_id}, through the same
resolvers as GraphQL's createBooking, rescheduleBooking and cancelBooking (the claim in the cache, the outbox to
the hotel, the idempotency keys), read back from the cache.

Who: a customer token books, reads, changes and cancels its own stays; hotel staff (a location manager or
franchisee of the hotel) and network-wide admins those of the hotel. A booking that is not a stay at a hotel,
or that the caller may not see, is BOOKING_NOT_FOUND, exactly like a made-up id.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from identity.principal import Role
from resolvers.bookings.change import cancel_booking, reschedule_booking
from resolvers.bookings.create import CreateBooking, NewCustomer, create_booking
from resolvers.context import Context
from resolvers.errors import NotFoundError
from resolvers.freshness import FreshData, refresh_for_query
from resolvers.hotels import queries
from resolvers.hotels.stays import require_hotel, stay_dates, stay_window
from resolvers.permissions import Permission
from resolvers.results import WriteResult
from shims.booking_engine.booking_json import (
    BookingAnswer,
    CancelQuery,
    ChangedBooking,
    NewBooking,
    ReadQuery,
    booking_view,
    deliveries,
)
from shims.booking_engine.shape import (
    BOOKING_ERRORS,
    INVALID,
    KEY_SCHEMA,
    PREFIX,
    TAG,
    Success,
    answer,
    caller,
    hotel_of,
)
from shims.common.endpoint import Endpoint, Handler, HeaderDoc
from shims.common.parsing import parse_body, parse_query
from shims.common.refusal import Refusal

IDEMPOTENCY_HEADER = "idempotency-key"


def _key(request: Request) -> str:
    """The caller's Idempotency-Key (a retry with it gets the first answer), or one of this request's own."""
    return request.headers.get(IDEMPOTENCY_HEADER) or f"booking-engine:{uuid.uuid4().hex}"


async def _stay(context: Context, booking_id: str) -> tuple[Any, Any]:
    """The booking the caller may see and the hotel it is a stay at; 404 BOOKING_NOT_FOUND otherwise."""
    row = await context.loaders.booking_by_id.load(booking_id) if len(booking_id) <= 64 else None
    if row is not None:
        try:
            return row, await require_hotel(context, row.service_location_id)
        except NotFoundError:
            pass
    raise Refusal(404, "BOOKING_NOT_FOUND", f"no booking has id {booking_id!r}")


async def _answer(context: Context, booking_id: str, result: WriteResult | None = None, status: int = 200) -> Response:
    context.reset_loaders()  # the write changed the row behind the request's loaders
    row, hotel = await _stay(context, booking_id)
    outcomes = deliveries(result.outcomes) if result is not None else []
    return answer(BookingAnswer(booking=booking_view(row, hotel.timezone), delivery=outcomes), status)


async def create(request: Request) -> Response:
    context = await caller(request, Permission.BOOK)
    body = await parse_body(request, NewBooking, code=INVALID)
    hotel = await hotel_of(context, body.hotel_id)
    try:
        room_type = await queries.room_type(context, hotel.id, body.room_type_id)
    except NotFoundError as error:
        raise Refusal(404, "ROOM_TYPE_NOT_FOUND", error.message) from None
    start_at, end_at = stay_window(hotel.timezone, body.check_in, body.check_out)
    principal = context.principal
    customer_id = body.guest_id
    new_customer = None
    if principal.role is Role.CUSTOMER:
        customer_id = customer_id or principal.customer_id  # the resolver refuses anyone else's id
    elif customer_id is None:
        if body.guest is None:
            raise Refusal(400, INVALID, "give guest_id or guest")
        guest = body.guest
        new_customer = NewCustomer(guest.first_name, guest.last_name, guest.email, guest.phone)
    result = await create_booking(
        context,
        CreateBooking(
            idempotency_key=_key(request),
            start_at=start_at,
            end_at=end_at,
            service_id=room_type.id,
            originating_location_id=hotel.id,  # the hotel's own booking engine is its channel
            customer_id=customer_id,
            new_customer=new_customer,
            resource_id=body.room_id,
            currency=body.currency,
            notes=body.special_requests,
        ),
    )
    assert result.entity_id is not None
    return await _answer(context, result.entity_id, result, status=201)


async def read(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_BOOKINGS)
    asked = parse_query(request, ReadQuery, code=INVALID)
    booking_id = request.path_params["booking_id"]
    _, hotel = await _stay(context, booking_id)
    # Fresh from the hotel when the cache is older than max_age (the GraphQL fields' freshness machinery).
    await refresh_for_query(context, [hotel.id], FreshData.BOOKINGS, asked.max_age)
    return await _answer(context, booking_id)


async def change(request: Request) -> Response:
    context = await caller(request, Permission.BOOK)
    body = await parse_body(request, ChangedBooking, code=INVALID)
    booking_id = request.path_params["booking_id"]
    row, hotel = await _stay(context, booking_id)
    if not body.changes_anything:
        return await _answer(context, booking_id)  # nothing asked, nothing changed
    check_in, check_out = stay_dates(hotel.timezone, row.start_at, row.end_at)
    start_at, end_at = stay_window(hotel.timezone, body.check_in or check_in, body.check_out or check_out)
    result = await reschedule_booking(context, booking_id, start_at, body.room_id, _key(request), end_at=end_at)
    return await _answer(context, booking_id, result)


async def cancel(request: Request) -> Response:
    context = await caller(request, Permission.BOOK)
    asked = parse_query(request, CancelQuery, code=INVALID)
    booking_id = request.path_params["booking_id"]
    await _stay(context, booking_id)
    result = await cancel_booking(context, booking_id, asked.reason, _key(request))
    return await _answer(context, booking_id, result)


WRITE_REFUSALS = {
    403: "FORBIDDEN: the role may not book, or a customer named someone else",
    404: "BOOKING_NOT_FOUND / HOTEL_NOT_FOUND / ROOM_TYPE_NOT_FOUND",
    409: "SLOT_UNAVAILABLE: no room of the type is free then; CONFLICT: the booking is no longer active",
    422: "IDEMPOTENCY_KEY_REUSED: the key was used with another request",
    503: "LOCATION_UNAVAILABLE: the hotel cannot take the write now",
}
IDEMPOTENCY = {"Idempotency-Key": HeaderDoc("A retry with the same key gets the first answer", required=False)}


def _endpoint(method: str, path: str, handler: Handler, summary: str, **more: Any) -> Endpoint:
    return Endpoint(
        method=method,
        path=f"{PREFIX}/{path}",
        handler=handler,
        errors=BOOKING_ERRORS,
        summary=summary,
        tag=TAG,
        response_model=Success[BookingAnswer],
        security=["bearer"],
        path_schemas={"booking_id": KEY_SCHEMA},
        **more,
    )


def endpoints() -> list[Endpoint]:
    return [
        _endpoint(
            "POST",
            "bookings",
            create,
            "Book a stay at a hotel",
            request_model=NewBooking,
            success_status=201,
            refusals=WRITE_REFUSALS,
            headers=IDEMPOTENCY,
        ),
        _endpoint(
            "GET",
            "bookings/{booking_id}",
            read,
            "A stay",
            query_model=ReadQuery,
            refusals={403: "FORBIDDEN: the role may not read bookings", 404: "BOOKING_NOT_FOUND"},
        ),
        _endpoint(
            "PUT",
            "bookings/{booking_id}",
            change,
            "Change a stay's dates or room",
            request_model=ChangedBooking,
            refusals=WRITE_REFUSALS,
            headers=IDEMPOTENCY,
        ),
        _endpoint(
            "DELETE",
            "bookings/{booking_id}",
            cancel,
            "Cancel a stay",
            query_model=CancelQuery,
            refusals=WRITE_REFUSALS,
            headers=IDEMPOTENCY,
        ),
    ]
