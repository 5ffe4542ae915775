"""Checks on client input shared by every domain; each failure is an InvalidInputError."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.errors import InvalidInputError
from sources.cache.models import Location


def require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidInputError(f"`{name}` needs a timezone offset, e.g. 2026-11-21T09:00:00Z", field=name)


def require_ordered_range(
    start_name: str, start: datetime | date | None, end_name: str, end: datetime | date | None
) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidInputError(f"`{start_name}` must not be after `{end_name}`", field=start_name)


async def require_known_locations(engine: AsyncEngine, location_ids: list[str] | None) -> None:
    if not location_ids:
        return
    table = Location.__table__
    async with engine.connect() as connection:
        known = set((await connection.execute(select(table.c.id).where(table.c.id.in_(location_ids)))).scalars())
    unknown = sorted(set(location_ids) - known)
    if unknown:
        raise InvalidInputError(f"unknown location ids: {', '.join(unknown)}", field="locationIds", unknown=unknown)
