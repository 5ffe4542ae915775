"""Reading the locations of the network."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import scoped
from sources.cache.models import Location

locations = Location.__table__

LOCATION_ORDER = SortOrder("location", (locations.c.name, locations.c.id))


@dataclass(frozen=True, slots=True)
class LocationFilter:
    kinds: list[str] | None = None
    statuses: list[str] | None = None


async def list_locations(context: Context, where: LocationFilter, args: PageArgs) -> ListResult:
    # Retired locations (no longer in the network file) are not listed; `location(id)` and the records that point
    # at them still reach them.
    statement = scoped(select(locations).where(locations.c.retired_at.is_(None)), context.scope.locations())
    if where.kinds:
        statement = statement.where(locations.c.kind.in_(where.kinds))
    if where.statuses:
        statement = statement.where(locations.c.status.in_(where.statuses))
    return await list_page(context, statement, LOCATION_ORDER, args)


async def visible_location_ids(context: Context, kind: str) -> list[str]:
    """The ids of the locations of this kind in the network (not retired) that the caller's scope shows."""
    statement = scoped(
        select(locations.c.id).where(locations.c.retired_at.is_(None), locations.c.kind == kind),
        context.scope.locations(),
    ).order_by(locations.c.id)
    async with context.engine.connect() as connection:
        return list((await connection.execute(statement)).scalars())
