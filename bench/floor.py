"""The floor: a plain Starlette endpoint answering the dashboard query without GraphQL.

It runs the same SQL statements as the gateway does for DASHBOARD_QUERY (the bookings page ordered
by start_at DESC, then customers, services, resources, locations and revenue entries of that page by
IN-lists, then the total count) with SQLAlchemy Core on the same engine settings, and builds the same
JSON by hand. What the gateway costs above this is the price of its GraphQL layer.

Differences from the gateway, on purpose: one pooled connection per request (the gateway checks
one out per statement), and no query parsing/validation.
"""

from __future__ import annotations

import base64
import gc
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sources.cache.database import create_engine
from sources.cache.models import Booking, Customer, Location, Resource, RevenueEntry, Service

bookings = Booking.__table__
customers = Customer.__table__
services = Service.__table__
resources = Resource.__table__
locations = Location.__table__
revenue_entries = RevenueEntry.__table__

SORT_NAME = "start_at_desc"  # the name the gateway puts in its START_AT_DESC cursors
DEFAULT_FIRST = 20
MAX_FIRST = 500
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def _money(minor_units: int, currency: str) -> dict[str, str]:
    return {"amount": str(Decimal(minor_units).scaleb(-_EXPONENTS.get(currency, 2))), "currency": currency}


def _percent(basis_points: int) -> str:
    return str(Decimal(basis_points).scaleb(-2))


def _cursor(start_at: datetime, booking_id: str) -> str:
    raw = json.dumps([SORT_NAME, [{"t": start_at.isoformat()}, booking_id]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _by_id(connection: AsyncConnection, statement: Select[Any]) -> dict[str, Row[Any]]:
    return {row.id: row for row in await connection.execute(statement)}


def _in(table: Any, column: str, keys: Iterable[str]) -> Select[Any]:
    return select(table).where(table.c[column].in_(list(keys)))


async def dashboard_page(engine: AsyncEngine, first: int) -> dict[str, Any]:
    """The `data` of the dashboard query, as the gateway would answer it."""
    page_statement = select(bookings).order_by(bookings.c.start_at.desc(), bookings.c.id.desc()).limit(first + 1)
    async with engine.connect() as connection:
        rows = (await connection.execute(page_statement)).all()[:first]
        customer_rows = await _by_id(connection, _in(customers, "id", {row.customer_id for row in rows}))
        service_rows = await _by_id(connection, _in(services, "id", {row.service_id for row in rows}))
        resource_ids = {row.resource_id for row in rows if row.resource_id}
        resource_rows = await _by_id(connection, _in(resources, "id", resource_ids)) if resource_ids else {}
        location_ids = {row.service_location_id for row in rows} | {row.originating_location_id for row in rows}
        location_rows = await _by_id(connection, _in(locations, "id", location_ids))
        revenue_statement = _in(revenue_entries, "booking_id", [row.id for row in rows]).order_by(
            revenue_entries.c.booking_id, revenue_entries.c.id
        )
        splits: dict[str, list[Row[Any]]] = {}
        for entry in await connection.execute(revenue_statement):
            splits.setdefault(entry.booking_id, []).append(entry)
        count_statement = select(func.count()).select_from(select(bookings).subquery())
        total = int((await connection.execute(count_statement)).scalar_one())

    def location(location_id: str) -> dict[str, str]:
        row = location_rows[location_id]
        return {"id": f"Location:{row.id}", "name": row.name}

    edges = []
    for row in rows:
        customer = customer_rows[row.customer_id]
        service = service_rows[row.service_id]
        resource = resource_rows[row.resource_id] if row.resource_id else None
        edges.append(
            {
                "cursor": _cursor(row.start_at, row.id),
                "node": {
                    "id": f"Booking:{row.id}",
                    "status": row.status.upper(),
                    "startAt": row.start_at.isoformat(),
                    "endAt": row.end_at.isoformat(),
                    "price": _money(row.price_minor, row.currency),
                    "customer": {
                        "id": f"Customer:{customer.id}",
                        "fullName": f"{customer.first_name} {customer.last_name}",
                        "email": customer.email,
                    },
                    "service": {
                        "id": f"Service:{service.id}",
                        "name": service.name,
                        "durationMinutes": service.duration_minutes,
                    },
                    "resource": None
                    if resource is None
                    else {"id": f"Resource:{resource.id}", "name": resource.name, "kind": resource.kind.upper()},
                    "serviceLocation": location(row.service_location_id),
                    "originatingLocation": location(row.originating_location_id),
                    "revenueSplit": [
                        {
                            "role": entry.role.upper(),
                            "sharePercent": _percent(entry.share_bp),
                            "amount": _money(entry.amount_minor, entry.currency),
                            "location": {"name": location_rows[entry.location_id].name},
                        }
                        for entry in splits.get(row.id, ())
                    ],
                },
            }
        )
    return {"bookings": {"totalCount": total, "edges": edges}}


def create_floor_app(database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(database_url)
        try:
            app.state.engine = engine
            # Same garbage-collector tuning as the gateway's start-up, so GC is not the difference.
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)
            yield
        finally:
            await engine.dispose()

    async def dashboard(request: Request) -> Response:
        body = await request.json()
        first = int((body.get("variables") or {}).get("first", DEFAULT_FIRST))
        if not 0 < first <= MAX_FIRST:
            return JSONResponse({"errors": [{"message": f"first must be in 1..{MAX_FIRST}"}]}, status_code=400)
        return JSONResponse({"data": await dashboard_page(request.app.state.engine, first)})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route("/graphql", dashboard, methods=["POST"]), Route("/health", health)]
    return Starlette(routes=routes, lifespan=lifespan)
