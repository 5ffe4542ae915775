"""GET consent-records and GET reconciliation for a Booksy location.

consent-records: the consents each customer known at the location has, as the cache stores them (read-only for
now), a page at a time by customer id; names, never contact data.
reconciliation: what the location reports as paid against the network's revenue entries for its bookings in a
range of days (resolvers.revenue.reconciliation, as GraphQL's paymentReconciliation): totals per currency and
every booking where the two disagree, with both sides.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.customers.consents import list_consent_records
from resolvers.permissions import Permission
from resolvers.revenue.reconciliation import MISMATCHES_SHOWN, ReconciliationProblem, reconcile_revenue
from shims.booksy.admin import (
    PAGE_MAX,
    LocationQuery,
    PageInfo,
    PageQuery,
    admin_context,
    admin_endpoint,
    one_location,
    page_args,
    page_info,
)
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_query

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


class ConsentRecord(BaseModel):
    customer_id: str = Field(max_length=64)
    local_customer_id: str = Field(max_length=64, description="The customer's id at the Booksy location")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    consents: dict[str, Any] = Field(description='As stored, e.g. {"marketing": true, "data_sync": true}')
    updated_at: datetime


class ConsentRecordsAnswer(BaseModel):
    location_id: str = Field(max_length=64)
    consent_records: list[ConsentRecord] = Field(max_length=PAGE_MAX)
    page: PageInfo


class ReconciliationQuery(LocationQuery):
    from_: date = Field(alias="from", ge=EARLIEST_DAY, le=LATEST_DAY, description="First day (UTC), inclusive")
    to: date = Field(ge=EARLIEST_DAY, le=LATEST_DAY, description="Last day (UTC), inclusive; at most 366 days on")

    @model_validator(mode="after")
    def _ordered(self) -> ReconciliationQuery:
        if self.to < self.from_:
            raise ValueError("`to` is before `from`")
        return self


class CurrencyTotal(BaseModel):
    currency: str = Field(max_length=3)
    booking_count: int = Field(ge=0)
    bookings_minor: int = Field(description="The bookings' prices, minor units")
    revenue_minor: int = Field(description="Their revenue entries at every sharing location")
    revenue_here_minor: int = Field(description="The Booksy location's own share")
    difference_minor: int = Field(description="revenue_minor - bookings_minor")
    reported_paid_minor: int = Field(description="What the location reports as paid, cancelled bookings included")
    network_paid_minor: int = Field(description="What the network's revenue entries record as paid")
    paid_difference_minor: int = Field(description="network_paid_minor - reported_paid_minor")
    refunded_minor: int = Field(description="What the location reports as refunded")
    written_off_minor: int = Field(description="Entries of bookings cancelled after payment, not refunded")


class MismatchOut(BaseModel):
    booking_id: str = Field(max_length=64)
    local_booking_id: str = Field(max_length=64)
    start_at: datetime
    status: str = Field(max_length=20)
    currency: str = Field(max_length=3)
    booking_minor: int = Field(description="The network's side: the booking's price")
    revenue_minor: int = Field(description="The network's side: what its revenue entries add up to")
    network_payment_status: str | None = Field(max_length=20, description="What the entries say of the payment")
    reported_payment: str | None = Field(max_length=20, description="The location's side: unpaid, paid, refunded")
    reported_paid_minor: int | None = Field(description="The location's side: the amount it reports paid")
    problem: ReconciliationProblem


class ReconciliationAnswer(BaseModel):
    location_id: str = Field(max_length=64)
    from_: date = Field(serialization_alias="from")
    to: date
    totals: list[CurrencyTotal] = Field(max_length=200)
    mismatch_count: int = Field(ge=0)
    mismatches: list[MismatchOut] = Field(max_length=MISMATCHES_SHOWN, description="The first ones, by start time")


async def consent_records(request: Request) -> Response:
    context = await admin_context(request, Permission.VIEW_SYNC, Permission.VIEW_CUSTOMERS)
    query = parse_query(request, PageQuery, code="INVALID_INPUT")
    location_id = await one_location(context, query.location)
    result = await list_consent_records(context, location_id, page_args(query))
    records = [
        ConsentRecord(
            customer_id=row.id,
            local_customer_id=row.local_customer_id,
            first_name=row.first_name,
            last_name=row.last_name,
            consents=row.consents or {},
            updated_at=row.updated_at,
        )
        for row in result.page.rows
    ]
    answer = ConsentRecordsAnswer(location_id=location_id, consent_records=records, page=await page_info(result))
    return JSONResponse(answer.model_dump(mode="json"))


async def reconciliation(request: Request) -> Response:
    context = await admin_context(request, Permission.VIEW_SYNC, Permission.VIEW_REVENUE, Permission.VIEW_BOOKINGS)
    query = parse_query(request, ReconciliationQuery, code="INVALID_INPUT")
    location_id = await one_location(context, query.location)
    found = await reconcile_revenue(context, location_id, query.from_, query.to)
    answer = ReconciliationAnswer(
        location_id=location_id,
        from_=found.start,
        to=found.end,
        totals=[
            CurrencyTotal(
                currency=t.currency,
                booking_count=t.booking_count,
                bookings_minor=t.bookings_minor,
                revenue_minor=t.revenue_minor,
                revenue_here_minor=t.revenue_here_minor,
                difference_minor=t.difference_minor,
                reported_paid_minor=t.reported_paid_minor,
                network_paid_minor=t.network_paid_minor,
                paid_difference_minor=t.paid_difference_minor,
                refunded_minor=t.refunded_minor,
                written_off_minor=t.written_off_minor,
            )
            for t in found.totals
        ],
        mismatch_count=found.mismatch_count,
        mismatches=[MismatchOut.model_validate(m, from_attributes=True) for m in found.mismatches],
    )
    return JSONResponse(answer.model_dump(mode="json", by_alias=True))


def record_endpoints() -> list[Endpoint]:
    return [
        admin_endpoint(
            "GET",
            "consent-records",
            consent_records,
            "Consent records of the customers a Booksy location knows, as stored (read-only)",
            query_model=PageQuery,
            response_model=ConsentRecordsAnswer,
        ),
        admin_endpoint(
            "GET",
            "reconciliation",
            reconciliation,
            "A Booksy location's bookings against their revenue entries: totals per currency and mismatches",
            query_model=ReconciliationQuery,
            response_model=ReconciliationAnswer,
        ),
    ]
