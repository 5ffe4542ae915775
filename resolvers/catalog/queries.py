"""Reading services and resources, including resources shared between locations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import scoped
from resolvers.validation import require_known_locations
from sources.cache.models import Resource, ResourceShare, Service

services = Service.__table__
resources = Resource.__table__
resource_shares = ResourceShare.__table__

SERVICE_ORDER = SortOrder("service", (services.c.location_id, services.c.category, services.c.name, services.c.id))
RESOURCE_ORDER = SortOrder("resource", (resources.c.location_id, resources.c.kind, resources.c.name, resources.c.id))


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    location_ids: list[str] | None = None
    categories: list[str] | None = None
    active_only: bool = True


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    kinds: list[str] | None = None
    location_ids: list[str] | None = None  # owned by, or shared with, any of these
    shared_only: bool = False


def _active_share_of(location_ids: list[str] | None = None) -> Select[Any]:
    statement = select(resource_shares.c.resource_id).where(resource_shares.c.is_active.is_(True))
    if location_ids:
        statement = statement.where(resource_shares.c.location_id.in_(location_ids))
    return statement


async def list_services(context: Context, where: ServiceFilter, args: PageArgs) -> ListResult:
    await require_known_locations(context.engine, where.location_ids)
    statement = scoped(select(services), context.scope.services())
    if where.location_ids:
        statement = statement.where(services.c.location_id.in_(where.location_ids))
    if where.categories:
        statement = statement.where(services.c.category.in_(where.categories))
    if where.active_only:
        statement = statement.where(services.c.is_active.is_(True))
    return await list_page(context, statement, SERVICE_ORDER, args)


async def list_resources(context: Context, where: ResourceFilter, args: PageArgs) -> ListResult:
    await require_known_locations(context.engine, where.location_ids)
    statement = scoped(select(resources), context.scope.resources())
    if where.kinds:
        statement = statement.where(resources.c.kind.in_(where.kinds))
    if where.location_ids:
        statement = statement.where(
            resources.c.location_id.in_(where.location_ids) | resources.c.id.in_(_active_share_of(where.location_ids))
        )
    if where.shared_only:
        statement = statement.where(resources.c.id.in_(_active_share_of()))
    return await list_page(context, statement, RESOURCE_ORDER, args)
