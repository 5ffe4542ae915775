"""Root fields for locations and network health."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.clock import utc_now
from resolvers.locations.health import network_health
from resolvers.locations.queries import LocationFilter, list_locations
from schema.arguments import After, Before, First, IdArgument, Last, page_args
from schema.locations.health import LocationHealth, NetworkHealth
from schema.locations.types import Location, LocationKind, LocationStatus
from schema.nodes import resolve_typed_node
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection


@strawberry.input(description="Which locations to list.")
class LocationFilterInput:
    kinds: list[LocationKind] | None = strawberry.field(default=None, description="Only these kinds.")
    statuses: list[LocationStatus] | None = strawberry.field(default=None, description="Only these statuses.")


@strawberry.type
class LocationQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="One location by id; null with a NOT_FOUND error if there is none.",
    )
    async def location(self, info: Info, id: IdArgument) -> Location | None:
        return await resolve_typed_node(info, Location, str(id))

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)], description="The locations of the network, by name."
    )
    async def locations(
        self,
        info: Info,
        filter: Annotated[LocationFilterInput | None, strawberry.argument(description="Which locations.")] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Location]:
        where = LocationFilter(
            kinds=[str(kind.value) for kind in filter.kinds] if filter and filter.kinds else None,
            statuses=[str(status.value) for status in filter.statuses] if filter and filter.statuses else None,
        )
        result = await list_locations(info.context, where, page_args(first, after, last, before))
        return build_connection(result, Location.from_row)

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="Status, freshness, conflicts and queued writes of every location.",
    )
    async def network_health(self, info: Info) -> NetworkHealth:
        entries = await network_health(info.context)
        return NetworkHealth(checked_at=utc_now(), locations=[LocationHealth.from_data(entry) for entry in entries])
