"""GET /api/statements/{location_id}/{month}.{format}: one location's statement of one month as CSV or JSON.

The caller is a bearer JWT whose role may view revenue and who acts for the location (as for GraphQL's
locationStatements). Amounts are exact decimal strings in major units with their currency; the CSV has one row
per line (`row_type` line) and one per currency total (`row_type` total), never a sum across currencies.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.errors import InvalidInputError
from resolvers.money import from_minor_units
from resolvers.permissions import Permission, require
from resolvers.revenue.statements import Statement, StatementLine, StatementTotals, location_statement
from shims.common.callers import bearer_principal, context_for, spend
from shims.common.endpoint import Endpoint
from shims.platforms.answers import PLATFORM_ERRORS
from sources.network.model import SLUG

PATH = "/api/statements/{location_id}/{month}.{format}"
FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "row_type",
    "location_id",
    "month",
    "currency",
    "business_date",
    "booking_id",
    "local_booking_id",
    "service_location_id",
    "originating_location_id",
    "role",
    "share_percent",
    "share",
    "commission",
    "tax",
    "net",
    "payment_status",
    "line_count",
    "paid",
    "refunded",
    "written_off",
)


class LineOut(BaseModel):
    business_date: str = Field(max_length=10)
    booking_id: str = Field(max_length=64)
    local_booking_id: str = Field(max_length=64)
    service_location_id: str = Field(max_length=64)
    originating_location_id: str = Field(max_length=64)
    role: Literal["originating", "service", "sole"]
    share_percent: str = Field(max_length=8)
    currency: str = Field(max_length=3)
    share: str = Field(max_length=32, description="Exact decimal, major units")
    commission: str = Field(max_length=32)
    tax: str = Field(max_length=32)
    net: str = Field(max_length=32)
    payment_status: Literal["pending", "paid", "refunded", "written_off"]


class TotalsOut(BaseModel):
    currency: str = Field(max_length=3)
    line_count: int = Field(ge=0, description="Earned lines (pending or paid)")
    share: str = Field(max_length=32)
    commission: str = Field(max_length=32)
    tax: str = Field(max_length=32)
    net: str = Field(max_length=32)
    paid: str = Field(max_length=32)
    refunded: str = Field(max_length=32)
    written_off: str = Field(max_length=32)


class StatementOut(BaseModel):
    location_id: str = Field(max_length=64)
    month: str = Field(max_length=7, pattern=r"^[0-9]{4}-[0-9]{2}$")
    lines: list[LineOut]
    totals: list[TotalsOut] = Field(description="One per currency")


def _amount(minor: int, currency: str) -> str:
    return str(from_minor_units(minor, currency))


def _line(line: StatementLine) -> LineOut:
    currency = line.currency
    return LineOut(
        business_date=line.business_date.isoformat(),
        booking_id=line.booking_id,
        local_booking_id=line.local_booking_id,
        service_location_id=line.service_location_id,
        originating_location_id=line.originating_location_id,
        role=line.role,  # type: ignore[arg-type]  # the column holds the three roles only
        share_percent=str(Decimal(line.share_bp).scaleb(-2)),
        currency=currency,
        share=_amount(line.amount_minor, currency),
        commission=_amount(line.commission_minor, currency),
        tax=_amount(line.tax_minor, currency),
        net=_amount(line.net_minor, currency),
        payment_status=line.payment_status,  # type: ignore[arg-type]  # sources.cache.payments.PaymentStatus
    )


def _totals(totals: StatementTotals) -> TotalsOut:
    currency = totals.currency
    return TotalsOut(
        currency=currency,
        line_count=totals.line_count,
        share=_amount(totals.amount_minor, currency),
        commission=_amount(totals.commission_minor, currency),
        tax=_amount(totals.tax_minor, currency),
        net=_amount(totals.net_minor, currency),
        paid=_amount(totals.paid_minor, currency),
        refunded=_amount(totals.refunded_minor, currency),
        written_off=_amount(totals.written_off_minor, currency),
    )


def statement_out(statement: Statement) -> StatementOut:
    return StatementOut(
        location_id=statement.location_id,
        month=statement.month,
        lines=[_line(line) for line in statement.lines],
        totals=[_totals(totals) for totals in statement.totals],
    )


def statement_csv(answer: StatementOut) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    common: dict[str, Any] = {"location_id": answer.location_id, "month": answer.month}
    for line in answer.lines:
        writer.writerow({"row_type": "line", **common, **line.model_dump()})
    for totals in answer.totals:
        writer.writerow({"row_type": "total", **common, **totals.model_dump()})
    return buffer.getvalue()


async def download_statement(request: Request) -> Response:
    principal = await bearer_principal(request)
    spend(request, principal)
    require(principal, Permission.VIEW_REVENUE, request.app.state.settings)
    context = context_for(request, principal)
    location_id = request.path_params["location_id"]
    month = request.path_params["month"]
    format_ = request.path_params["format"]
    if format_ not in FORMATS:
        raise InvalidInputError("a statement downloads as .csv or .json", field="format")
    answer = statement_out(await location_statement(context, location_id, month))
    filename = f"statement-{answer.location_id}-{answer.month}.{format_}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format_ == "json":
        return JSONResponse(answer.model_dump(mode="json"), headers=disposition)
    return Response(statement_csv(answer), media_type="text/csv; charset=utf-8", headers=disposition)


def statement_endpoint() -> Endpoint:
    return Endpoint(
        method="GET",
        path=PATH,
        handler=download_statement,
        errors=PLATFORM_ERRORS,
        summary="A location's statement of one month, as CSV or JSON (amounts per currency, never converted)",
        description=(
            "Every revenue line the location earned or owes in the month (share, commission, tax, net) and totals "
            "per currency. The JSON is this response's schema; the CSV has the same fields, one row per line and "
            "one per currency total (`row_type`)."
        ),
        tag="statements",
        response_model=StatementOut,
        refusals={
            403: "FORBIDDEN: the token's role may not view revenue, or does not act for the location",
            404: "NOT_FOUND: no location of that id",
        },
        security=["bearer"],
        path_schemas={
            "location_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": SLUG},
            "month": {"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"},
            "format": {"type": "string", "enum": list(FORMATS)},
        },
    )
