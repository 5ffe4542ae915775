"""The catalog domain's DataLoaders: services apply `scope.services()`, resources `scope.resources()`,
lendings `scope.resource_shares()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.engine import Row

from resolvers.loading import BatchLoader, RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import Resource, ResourceShare, Service

services = Service.__table__
resources = Resource.__table__
resource_shares = ResourceShare.__table__


class ServiceByIdLoader(RowByKeyLoader):
    key_column = services.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(services).where(services.c.id.in_(keys), self.scope.services())


class ResourceByIdLoader(RowByKeyLoader):
    key_column = resources.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(resources).where(resources.c.id.in_(keys), self.scope.resources())


class ServicesByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(services)
            .where(services.c.location_id.in_(keys), self.scope.services())
            .order_by(services.c.location_id, services.c.category, services.c.name)
        )


class ResourcesByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(resources)
            .where(resources.c.location_id.in_(keys), self.scope.resources())
            .order_by(resources.c.location_id, resources.c.kind, resources.c.name)
        )


class ResourceSharesByResourceIdLoader(RowsByKeyLoader):
    key_name = "resource_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(resource_shares)
            .where(
                resource_shares.c.resource_id.in_(keys),
                resource_shares.c.is_active.is_(True),
                self.scope.resource_shares(),
            )
            .order_by(resource_shares.c.resource_id, resource_shares.c.location_id)
        )


class ResourceByLocalIdLoader(BatchLoader[tuple[str, str], Row[Any] | None]):
    """(location id, the id that location uses for a resource) → the resource, in one statement per batch.

    Locations know a resource lent in from elsewhere by its network id, so a key is matched
    against the location's own resources first and then against network ids.
    """

    async def fetch(self, keys: list[tuple[str, str]]) -> list[Row[Any] | None]:
        location_ids = sorted({location_id for location_id, _ in keys})
        local_ids = sorted({local_id for _, local_id in keys})
        statement = select(resources).where(
            or_(
                resources.c.location_id.in_(location_ids) & resources.c.local_resource_id.in_(local_ids),
                resources.c.id.in_(local_ids),
            ),
            self.scope.resources(),
        )
        rows = await self.rows(statement)
        owned = {(row.location_id, row.local_resource_id): row for row in rows}
        by_network_id = {row.id: row for row in rows}
        return [owned.get(key) or by_network_id.get(key[1]) for key in keys]
