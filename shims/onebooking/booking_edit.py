"""PUT /api/bookings/{id}: an admin's edit in the dashboard (specs/onebooking-central.md), synced back to the
website by its signed webhook through the outbox (retried with backoff, one event id across retries).

Body (every field optional, at least one): `status` ("cancelled": the spec's websites take no other status from
Central), `admin_notes`, `activity_date` / `time_slot` (a move, local time at the website; one left out keeps its
current value). Each change is the GraphQL mutation's resolver: cancelBooking (the notes are its reason, and
the website hears `booking.status_changed` {status, admin_notes}), rescheduleBooking (`booking.updated`
{activity_date, time_slot}), and annotate_booking for notes alone (`booking.updated` {admin_notes}).
`Idempotency-Key` (optional): a retried PUT with the same key changes nothing twice.
200 {"success": true, "message": "Booking updated", "booking": {...}, "sync": [{location_id, status, code,
reason}]}: `status` delivered, queued (the website will get it; the outbox retries) or failed (it refused).
401 AUTH_FAILED, 403 FORBIDDEN (staff, customers; a website the admin does not act for), 404 NOT_FOUND,
400 INVALID_PAYLOAD, 409 CONFLICT (cancelling or moving a booking that is no longer active) or SLOT_UNAVAILABLE,
422 IDEMPOTENCY_KEY_REUSED, 429 RATE_LIMITED, 503 LOCATION_UNAVAILABLE.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import Principal
from resolvers.bookings.annotate import annotate_booking
from resolvers.bookings.change import cancel_booking, reschedule_booking
from resolvers.context import Context
from resolvers.permissions import Permission, granted, require, require_location
from resolvers.results import WriteResult
from shims.common.endpoint import Endpoint, HeaderDoc
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal
from shims.onebooking.dashboard_callers import dashboard_caller, websites_of
from shims.onebooking.errors import INVALID_PAYLOAD, NOT_FOUND, ONEBOOKING_ERRORS
from shims.onebooking.views import TEXT_MAX, BookingView, booking_view

BOOKING_PATH = "/api/bookings/{booking_id}"
KEY_PATTERN = r"[\x21-\x7e]{1,100}"


class BookingEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["cancelled"] | None = None
    admin_notes: str | None = Field(default=None, max_length=TEXT_MAX)
    activity_date: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2100, 12, 31))
    time_slot: str | None = Field(default=None, max_length=5, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _something(self) -> BookingEdit:
        given = self.model_fields_set
        # `"admin_notes": null` clears the notes; any other field must have a value.
        if "admin_notes" not in given and all(getattr(self, name) is None for name in given):
            raise ValueError("nothing to change: give status, admin_notes, activity_date or time_slot")
        return self


class SyncOutcome(BaseModel):
    location_id: str = Field(max_length=64)
    status: Literal["delivered", "queued", "failed"]
    code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)


class EditAnswer(BaseModel):
    success: Literal[True] = True
    message: str = Field(max_length=200)
    booking: BookingView
    sync: list[SyncOutcome] = Field(max_length=10)


def _outcomes(results: list[WriteResult]) -> list[SyncOutcome]:
    return [
        SyncOutcome.model_validate(
            {"location_id": o.location_id, "status": o.status.value.lower(), "code": o.code, "reason": o.reason or None}
        )
        for result in results
        for o in result.outcomes
    ]


def _moved_start(booking_start: datetime, zone: ZoneInfo, edit: BookingEdit) -> datetime:
    current = booking_start.astimezone(zone)
    day = edit.activity_date or current.date()
    slot = time.fromisoformat(edit.time_slot) if edit.time_slot else current.time().replace(second=0, microsecond=0)
    naive = datetime.combine(day, slot)
    moment = naive.replace(tzinfo=zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise Refusal(400, INVALID_PAYLOAD, f"{day} {slot:%H:%M} does not exist in {zone.key} (the clocks change)")
    return moment.astimezone(UTC)


def _idempotency_key(given: str | None) -> str:
    """The caller's key, or its hash when it is longer or wider than the gateway's keys (so two long keys never
    collide by truncation); a fresh one without. Each resolver call suffixes it: the gateway's idempotency keys
    are one namespace across operations."""
    if given is None:
        return uuid.uuid4().hex
    if re.fullmatch(KEY_PATTERN, given):
        return given
    return "sha256-" + hashlib.sha256(given.encode()).hexdigest()


async def _view(context: Context, principal: Principal, booking_id: str) -> BookingView:
    context.reset_loaders()  # the writes changed the cache behind the request's loaders
    booking = await context.loaders.booking_by_id.load(booking_id)
    if booking is None:
        raise Refusal(404, NOT_FOUND, f"no booking {booking_id}")
    customer = await context.loaders.customer_by_id.load(booking.customer_id)
    service = await context.loaders.references().service_by_id.load(booking.service_id)
    location = await context.loaders.location_by_id.load(booking.service_location_id)
    zone = ZoneInfo(location.timezone if location is not None else "UTC")
    contact_data = granted(principal, Permission.VIEW_CONTACT_DATA, context.settings)
    return booking_view(booking, customer, service, zone, contact_data=contact_data)


async def edit_booking(request: Request) -> JSONResponse:
    principal, context = await dashboard_caller(request, editing=True)
    require(principal, Permission.BOOK, context.settings)
    booking_id = request.path_params["booking_id"][:64]
    booking = await context.loaders.booking_by_id.load(booking_id)
    # A booking the caller does not see, or one that is not a website's, is not found: the dashboard has no other.
    if booking is None or booking.service_location_id not in await websites_of(context):
        raise Refusal(404, NOT_FOUND, f"no booking {booking_id}")
    require_location(principal, booking.service_location_id)
    edit = await parse_body(request, BookingEdit, code=INVALID_PAYLOAD)
    key = _idempotency_key(request.headers.get("idempotency-key"))
    results: list[WriteResult] = []
    if edit.activity_date is not None or edit.time_slot is not None:
        location = await context.loaders.location_by_id.load(booking.service_location_id)
        zone = ZoneInfo(location.timezone if location is not None else "UTC")
        start_at = _moved_start(booking.start_at, zone, edit)
        results.append(await reschedule_booking(context, booking_id, start_at, None, f"{key}:move"))
    notes_given = "admin_notes" in edit.model_fields_set
    if edit.status == "cancelled":
        results.append(await cancel_booking(context, booking_id, edit.admin_notes or "", f"{key}:cancel"))
        if notes_given:
            # The website heard the notes with the new status; the gateway keeps them without a second event.
            results.append(
                await annotate_booking(context, booking_id, edit.admin_notes, f"{key}:notes", tell_owner=False)
            )
    elif notes_given:
        results.append(await annotate_booking(context, booking_id, edit.admin_notes, f"{key}:notes"))
    answer = EditAnswer(
        message="Booking updated", booking=await _view(context, principal, booking_id), sync=_outcomes(results)
    )
    return JSONResponse(answer.model_dump(mode="json"))


def edit_endpoint() -> Endpoint:
    return Endpoint(
        method="PUT",
        path=BOOKING_PATH,
        handler=edit_booking,
        errors=ONEBOOKING_ERRORS,
        summary="An admin edits a website's booking; the website hears it by its signed webhook",
        tag="onebooking",
        request_model=BookingEdit,
        response_model=EditAnswer,
        refusals={
            403: "FORBIDDEN: staff, customers, or a website the admin does not act for",
            404: "NOT_FOUND: no such booking among the caller's websites",
            409: "CONFLICT: the booking is no longer active; SLOT_UNAVAILABLE: the new time is taken",
            422: "IDEMPOTENCY_KEY_REUSED: the key was used for another edit",
            503: "LOCATION_UNAVAILABLE",
        },
        security=["bearer"],
        headers={"Idempotency-Key": HeaderDoc("Makes a retried PUT change nothing twice", required=False)},
        path_schemas={"booking_id": {"type": "string", "minLength": 1, "maxLength": 64}},
    )
