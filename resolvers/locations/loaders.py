"""The locations domain's DataLoaders; every batch applies `scope.locations()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, select
from sqlalchemy.sql.elements import KeyedColumnElement

from resolvers.loading import BatchLoader, RowByKeyLoader
from sources.cache.models import Booking, CustomerMapping, Location, Resource, Service

locations = Location.__table__
bookings = Booking.__table__
customer_mappings = CustomerMapping.__table__
services = Service.__table__
resources = Resource.__table__


class LocationByIdLoader(RowByKeyLoader):
    key_column = locations.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(locations).where(locations.c.id.in_(keys), self.scope.locations())


class CountsByLocationIdLoader(BatchLoader[str, dict[str, int]]):
    """How many bookings, customers, services and resources each location has, in 4 statements.

    Each count is of the rows the scope shows in that domain (a location's bookings as `bookings` lists them).
    """

    async def fetch(self, keys: list[str]) -> list[dict[str, int]]:
        scope = self.scope
        counted: dict[str, tuple[KeyedColumnElement[Any], FromClause, ColumnElement[bool]]] = {
            "bookings": (bookings.c.service_location_id, bookings, scope.bookings()),
            "customers": (customer_mappings.c.location_id, customer_mappings, scope.customer_mappings()),
            "services": (services.c.location_id, services, scope.services()),
            "resources": (resources.c.location_id, resources, scope.resources()),
        }
        counts: dict[str, dict[str, int]] = {key: dict.fromkeys(counted, 0) for key in keys}
        async with self.engine.connect() as connection:
            for name, (column, table, in_scope) in counted.items():
                statement = (
                    select(column, func.count()).select_from(table).where(column.in_(keys), in_scope).group_by(column)
                )
                for location_id, count in await connection.execute(statement):
                    counts[location_id][name] = count
        return [counts[key] for key in keys]
