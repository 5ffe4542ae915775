"""Pooled availability: free slots for a service or a category, asked live from every owning location at once.

Availability is never answered from the cache: a slot is only worth showing if the location
that owns it says it is free now. Every location is asked in parallel under one deadline, so a
slow or broken location costs the answer its own slots, never the others'.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row

from resolvers import bounds
from resolvers.catalog.loans import Loan, loans_at
from resolvers.categories import offering, require_known
from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from resolvers.locations.nearby import GeoPoint, require_point, require_reach, serving_near
from resolvers.scope import scoped
from sources.cache.models import Location, Service
from sources.cache.types import utc_now
from sources.connectors.base import Capability, Connector
from sources.connectors.errors import ConnectorError
from sources.connectors.records import Slot

MAX_WINDOW = timedelta(days=14)
MAX_LIMIT_PER_LOCATION = 500
OFFLINE_ERROR = "the location is offline (its last heartbeat failed); not asked"

locations = Location.__table__
services = Service.__table__


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """What to look for: exactly one of service_id (network key) and category."""

    service_id: str | None
    category: str | None
    start_at: datetime
    end_at: datetime
    near: GeoPoint | None = None
    max_distance_km: float = 50.0
    limit_per_location: int = 50


@dataclass(frozen=True, slots=True)
class LocationSlots:
    """One location's answer for one of its services."""

    location: Row[Any]
    service: Row[Any]
    distance_km: float | None
    slots: list[Slot] = field(default_factory=list)
    found: int = 0  # free starts the location reported, before the per-location limit
    error: str | None = None  # set when the location could not be asked; slots is then empty


def validate(query: AvailabilityQuery, now: datetime) -> None:
    if (query.service_id is None) == (query.category is None):
        raise InvalidInputError("give exactly one of `serviceId` and `category`", field="serviceId")
    bounds.optional_key("serviceId", query.service_id)
    bounds.optional_text("category", query.category, bounds.CATEGORY_LENGTH)
    if query.category is not None and not query.category.strip():
        raise InvalidInputError("`category` must not be blank", field="category")
    bounds.instant("from", query.start_at)
    bounds.instant("to", query.end_at)
    if query.start_at >= query.end_at:
        raise InvalidInputError("`from` must be before `to`", field="from")
    if query.end_at <= now:
        raise InvalidInputError("`to` is in the past: there is nothing left to book", field="to")
    if query.end_at - query.start_at > MAX_WINDOW:
        raise InvalidInputError(f"the window may span at most {MAX_WINDOW.days} days", field="to")
    if not 1 <= query.limit_per_location <= MAX_LIMIT_PER_LOCATION:
        raise InvalidInputError(
            f"`limitPerLocation` must be between 1 and {MAX_LIMIT_PER_LOCATION}", field="limitPerLocation"
        )
    if query.near is not None:
        require_point(query.near)
        require_reach(query.max_distance_km)
        bounds.number("maxDistanceKm", query.max_distance_km, 0.0, bounds.DISTANCE_KM_MAX, low_inclusive=False)


async def _candidates(context: Context, query: AvailabilityQuery) -> tuple[list[Row[Any]], dict[str, Row[Any]]]:
    """The services to ask about and their locations (as the scope shows them), in two statements."""
    scope = context.scope
    statement = scoped(select(services), scope.services())
    if query.service_id is not None:
        statement = statement.where(services.c.id == query.service_id)
    elif query.category is not None:
        offered = offering(context.services.categories, services.c.location_id, services.c.category, query.category)
        statement = statement.where(offered, services.c.is_active.is_(True))
    async with context.engine.connect() as connection:
        service_rows = list((await connection.execute(statement.order_by(services.c.id))).all())
        location_ids = sorted({row.location_id for row in service_rows})
        location_rows = (
            await connection.execute(select(locations).where(locations.c.id.in_(location_ids), scope.locations()))
        ).all()
    if query.service_id is not None:
        if not service_rows:
            raise NotFoundError(f"no service has id 'Service:{query.service_id}'", id=f"Service:{query.service_id}")
        if not service_rows[0].is_active:
            raise InvalidInputError(f"{service_rows[0].name} can no longer be booked", field="serviceId")
    return service_rows, {row.id: row for row in location_rows}


async def _ask(
    connector: Connector, service: Row[Any], start_at: datetime, end_at: datetime, deadline: float
) -> tuple[list[Slot], str | None]:
    """The location's free slots, or why it could not say; never longer than the deadline."""
    try:
        async with asyncio.timeout(deadline) as budget:
            return await connector.availability(service.local_service_id, start_at, end_at), None
    except ConnectorError as error:
        return [], error.message
    except TimeoutError:
        if not budget.expired():
            raise
        return [], f"did not answer within {deadline:g} s"


def _lent_on_terms(loan: Loan | None, slot: Slot, now: datetime) -> bool:
    """A slot on the location's own resource, or on one lent in whose sharing rules allow it."""
    return loan is None or loan.refusal(slot.start_at, slot.end_at, now) is None


def _sort_key(answer: LocationSlots) -> tuple[Any, ...]:
    by_slots = (-answer.found, answer.location.id, answer.service.name, answer.service.id)
    if answer.distance_km is None:
        return by_slots
    return (answer.distance_km, *by_slots)


async def pooled_availability(context: Context, query: AvailabilityQuery) -> list[LocationSlots]:
    """Free slots at every location offering the service or category (within reach of `near`), best first."""
    now = utc_now()
    validate(query, now)
    if query.category is not None:
        require_known(context.services.categories, query.category)
    service_rows, location_rows = await _candidates(context, query)
    context.loaders.references().location_by_id.prime_many(location_rows.items())
    context.loaders.service_by_id.prime_many((row.id, row) for row in service_rows)

    start_at = max(query.start_at, now)  # a slot already begun cannot be booked
    deadline = context.settings.connector_timeout_seconds
    asked: list[tuple[Row[Any], Row[Any], float | None, Connector]] = []
    results: list[LocationSlots] = []
    candidates = ((service, location_rows[service.location_id]) for service in service_rows)
    for nearby in serving_near(candidates, query.near, query.max_distance_km):
        location, service = nearby.location, nearby.candidate
        connector = context.services.connectors.get(location.id)
        if connector is None or Capability.AVAILABILITY not in connector.capabilities:
            continue  # e.g. a OneBooking source website: it cannot say what is free
        km = None if nearby.distance_km is None else round(nearby.distance_km, 3)
        if nearby.offline:
            # Not asked: it would only use up the deadline. Named, so the caller knows what is missing.
            results.append(LocationSlots(location, service, km, error=OFFLINE_ERROR))
            continue
        asked.append((location, service, km, connector))

    answers = await asyncio.gather(
        *(_ask(connector, service, start_at, query.end_at, deadline) for _, service, _, connector in asked)
    )
    # A location offers the slots of staff lent to it as its own; only those its sharing rules allow are shown.
    loans: dict[tuple[str, str], Loan] = {}
    if asked:
        async with context.engine.connect() as connection:
            loans = await loans_at(connection, [location.id for location, *_ in asked], start_at, query.end_at)
    for (location, service, km, _), (slots, error) in zip(asked, answers, strict=True):
        allowed = [
            slot for slot in slots if _lent_on_terms(loans.get((location.id, slot.local_resource_id)), slot, now)
        ]
        ordered = sorted(allowed, key=lambda slot: (slot.start_at, slot.local_resource_id))
        results.append(
            LocationSlots(
                location=location,
                service=service,
                distance_km=km,
                slots=ordered[: query.limit_per_location],
                found=len(ordered),
                error=error,
            )
        )
    return sorted(results, key=_sort_key)
