"""The network's platform locations (Booksy-like salon and fitness accounts) a caller may see: what the Booksy
admin endpoints report on and act for."""

from __future__ import annotations

from sqlalchemy import select

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import NotFoundError
from sources.cache.models import Location

PLATFORM = "platform"


async def platform_locations(context: Context, location_id: str | None = None) -> list[str]:
    """Ids of the platform locations in the caller's scope, or just `location_id` (NOT_FOUND unless it is one)."""
    statement = (
        select(Location.id)
        .where(Location.kind == PLATFORM, Location.retired_at.is_(None), context.scope.locations())
        .order_by(Location.id)
    )
    if location_id is not None:
        bounds.key("location", location_id)
        statement = statement.where(Location.id == location_id)
    async with context.engine.connect() as connection:
        found = list((await connection.scalars(statement)).all())
    if location_id is not None and not found:
        raise NotFoundError(f"no platform location {location_id!r} that you may see", field="location")
    return found
