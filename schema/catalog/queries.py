"""Root fields for services and resources."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.catalog.queries import ResourceFilter, ServiceFilter, list_resources, list_services
from schema.arguments import After, Before, First, Last, location_keys, page_args
from schema.catalog.types import Resource, ResourceKind, Service
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection


@strawberry.input(description="Which services to list.")
class ServiceFilterInput:
    location_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Offered at these locations.")
    categories: list[str] | None = strawberry.field(default=None, description="In these catalogue categories.")
    include_inactive: bool = strawberry.field(default=False, description="Also services no longer bookable.")


@strawberry.input(description="Which resources to list.")
class ResourceFilterInput:
    kinds: list[ResourceKind] | None = strawberry.field(default=None, description="Only staff, rooms or equipment.")
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Owned by, or shared with, any of these locations."
    )
    shared_only: bool = strawberry.field(default=False, description="Only resources lent to another location.")


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)], description="Services offered across the network."
    )
    async def services(
        self,
        info: Info,
        filter: Annotated[ServiceFilterInput | None, strawberry.argument(description="Which services.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Service]:
        where = ServiceFilter(
            location_ids=location_keys(filter.location_ids) if filter else None,
            categories=filter.categories if filter else None,
            active_only=not filter.include_inactive if filter else True,
        )
        result = await list_services(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Service.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="Staff, rooms and equipment across the network.",
    )
    async def resources(
        self,
        info: Info,
        filter: Annotated[ResourceFilterInput | None, strawberry.argument(description="Which resources.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Resource]:
        where = ResourceFilter(
            kinds=[str(kind.value) for kind in filter.kinds] if filter and filter.kinds else None,
            location_ids=location_keys(filter.location_ids) if filter else None,
            shared_only=filter.shared_only if filter else False,
        )
        result = await list_resources(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Resource.from_row)
