"""GET /api/bookings: the dashboard's booking list (specs/onebooking-central.md, "Multi-tenant Dashboard"),
answered from the cache by the same resolver as GraphQL's `bookings`, in the caller's row scope.

Query: `website` (one website id; left out, every website the caller sees), `status` (repeatable),
`date_from` / `date_to` (activity dates, inclusive, local to `website` when one is named, else UTC days),
`search` (the booking ref, the website's booking id or the customer's name, in any case; also their email
for a caller who may see contact data), `sort`, `limit` (1-100, default 50) and `cursor` (the `next_cursor`
of the page before).
200 {"success": true, "bookings": [...], "total": n, "next_cursor": "..." | null}
401 AUTH_FAILED, 403 FORBIDDEN (not a dashboard role, or a website the caller does not see),
404 WEBSITE_NOT_FOUND, 400 INVALID_PAYLOAD, 429 RATE_LIMITED.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.bookings.queries import BookingFilter, BookingSort, BookingStatus, list_bookings
from resolvers.bookings.vocabulary import BookingRelation
from resolvers.context import Context
from resolvers.pagination import PageArgs
from resolvers.permissions import Permission, granted, require
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_query
from shims.common.refusal import Refusal
from shims.onebooking.dashboard_callers import dashboard_caller, websites_of
from shims.onebooking.errors import FORBIDDEN, INVALID_PAYLOAD, ONEBOOKING_ERRORS, WEBSITE_NOT_FOUND
from shims.onebooking.views import BookingView, booking_view
from sources.cache.models import Location

BOOKINGS_PATH = "/api/bookings"
PAGE_MAX = 100
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)


class Sort(StrEnum):
    ACTIVITY_DATE = "activity_date"
    ACTIVITY_DATE_DESC = "-activity_date"
    CREATED_AT_DESC = "-created_at"


SORTS = {
    Sort.ACTIVITY_DATE: BookingSort.START_AT_ASC,
    Sort.ACTIVITY_DATE_DESC: BookingSort.START_AT_DESC,
    Sort.CREATED_AT_DESC: BookingSort.CREATED_AT_DESC,
}


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    website: str | None = Field(default=None, min_length=1, max_length=64)
    status: list[BookingStatus] = Field(default_factory=list, max_length=len(BookingStatus))
    date_from: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    date_to: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    search: str | None = Field(default=None, min_length=1, max_length=254)
    sort: Sort = Sort.CREATED_AT_DESC
    limit: int = Field(default=50, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _ordered(self) -> BookingQuery:
        if self.date_from is not None and self.date_to is not None and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


class BookingList(BaseModel):
    success: Literal[True] = True
    bookings: list[BookingView] = Field(max_length=PAGE_MAX)
    total: int = Field(ge=0, le=2**63 - 1)
    next_cursor: str | None = Field(default=None, max_length=1000)


async def _websites(context: Context, named: str | None) -> list[str]:
    mine = await websites_of(context)
    if named is None:
        return mine
    if named in mine:
        return [named]
    async with context.engine.connect() as connection:
        location = (await connection.execute(Location.__table__.select().where(Location.id == named))).first()
    if location is None or location.kind != "onebooking" or location.retired_at is not None:
        raise Refusal(404, WEBSITE_NOT_FOUND, f"no website {named}")
    raise Refusal(403, FORBIDDEN, f"you do not see website {named}")


async def _zones(context: Context, website_ids: list[str]) -> dict[str, ZoneInfo]:
    locations = await context.loaders.location_by_id.load_many(website_ids)
    return {location.id: ZoneInfo(location.timezone) for location in locations if location is not None}


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def list_website_bookings(request: Request) -> JSONResponse:
    principal, context = await dashboard_caller(request)
    require(principal, Permission.VIEW_BOOKINGS, context.settings)
    query = parse_query(request, BookingQuery, code=INVALID_PAYLOAD)
    website_ids = await _websites(context, query.website)
    if not website_ids:
        return JSONResponse(BookingList(bookings=[], total=0).model_dump(mode="json"))
    zones = await _zones(context, website_ids)
    zone = zones[query.website] if query.website is not None and query.website in zones else ZoneInfo("UTC")
    where = BookingFilter(
        service_location_ids=website_ids,
        statuses=list(query.status) or None,
        starts_at_or_after=None if query.date_from is None else _day_start(query.date_from, zone),
        starts_before=None if query.date_to is None else _day_start(query.date_to + timedelta(days=1), zone),
        search=query.search,
    )
    include = (BookingRelation.CUSTOMER, BookingRelation.SERVICE)
    result = await list_bookings(
        context, where, SORTS[query.sort], PageArgs(first=query.limit, after=query.cursor), include
    )
    rows = result.page.rows
    customers = await context.loaders.customer_by_id.load_many([row.customer_id for row in rows])
    services = await context.loaders.references().service_by_id.load_many([row.service_id for row in rows])
    contact_data = granted(principal, Permission.VIEW_CONTACT_DATA, context.settings)
    views = [
        booking_view(
            row, customer, service, zones.get(row.service_location_id, ZoneInfo("UTC")), contact_data=contact_data
        )
        for row, customer, service in zip(rows, customers, services, strict=True)
    ]
    next_cursor = result.page.cursors[-1] if result.page.has_next_page and result.page.cursors else None
    answer = BookingList(bookings=views, total=await result.total_count(), next_cursor=next_cursor)
    return JSONResponse(answer.model_dump(mode="json"))


def list_endpoint() -> Endpoint:
    return Endpoint(
        method="GET",
        path=BOOKINGS_PATH,
        handler=list_website_bookings,
        errors=ONEBOOKING_ERRORS,
        summary="The dashboard's bookings: every website the caller sees, filtered and paged",
        tag="onebooking",
        query_model=BookingQuery,
        response_model=BookingList,
        refusals={
            403: "FORBIDDEN: not a dashboard role, or a website the caller does not see",
            404: "WEBSITE_NOT_FOUND: no such website",
        },
        security=["bearer"],
    )
