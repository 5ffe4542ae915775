"""Root fields for locations, network health and global object lookup."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.errors import NotFoundError
from resolvers.health import network_health
from resolvers.ids import from_global_id, key_of
from resolvers.loading import BatchLoader
from resolvers.locations import LocationFilter, list_locations
from schema.bookings import Booking
from schema.catalog import Resource, Service
from schema.customers import Customer
from schema.health import LocationHealth, NetworkHealth
from schema.inventory import StockItem
from schema.locations import Location, LocationKind, LocationStatus
from schema.queries.arguments import After, Before, First, IdArgument, Last, page_args
from schema.relay import Connection, Node, build_connection
from schema.sync.types import Conflict, SyncJob
from sources.cache.types import utc_now

NodeT = TypeVar("NodeT", bound=Node)

# Which loader finds each node type, and how its row becomes the GraphQL object.
NODE_TYPES: dict[str, tuple[Callable[[Any], BatchLoader[str, Any]], Callable[[Any], Node]]] = {
    "Location": (lambda loaders: loaders.location_by_id, Location.from_row),
    "Customer": (lambda loaders: loaders.customer_by_id, Customer.from_row),
    "Booking": (lambda loaders: loaders.booking_by_id, Booking.from_row),
    "Service": (lambda loaders: loaders.service_by_id, Service.from_row),
    "Resource": (lambda loaders: loaders.resource_by_id, Resource.from_row),
    "StockItem": (lambda loaders: loaders.stock_item_by_id, StockItem.from_row),
    "SyncJob": (lambda loaders: loaders.sync_job_by_id, SyncJob.from_row),
    "Conflict": (lambda loaders: loaders.conflict_by_id, Conflict.from_row),
}


async def resolve_node(info: Info, global_id: str) -> Node:
    type_name, key = from_global_id(global_id)
    if type_name not in NODE_TYPES:
        raise NotFoundError(f"no object has id {global_id!r}: unknown type {type_name}", id=global_id)
    loader_of, convert = NODE_TYPES[type_name]
    row = await loader_of(info.context.loaders).load(key)
    if row is None:
        raise NotFoundError(f"no {type_name} has id {global_id!r}", id=global_id)
    return convert(row)


async def resolve_typed_node(info: Info, node_type: type[NodeT], global_id: str) -> NodeT:
    """A node that must be of node_type: an id of another type is INVALID_ID."""
    node = await resolve_node(info, f"{node_type.__name__}:{key_of(global_id, node_type.__name__)}")
    assert isinstance(node, node_type)
    return node


@strawberry.input(description="Which locations to list.")
class LocationFilterInput:
    kinds: list[LocationKind] | None = strawberry.field(default=None, description="Only these kinds.")
    statuses: list[LocationStatus] | None = strawberry.field(default=None, description="Only these statuses.")


@strawberry.type
class NetworkQueries:
    @strawberry.field(description="Fetches any object by its global id; null with a NOT_FOUND error if there is none.")
    async def node(self, info: Info, id: IdArgument) -> Node | None:
        return await resolve_node(info, str(id))

    @strawberry.field(
        graphql_type=list[Node | None],
        description="Fetches several objects by global id, in the order asked; an unknown id gives null and an error.",
    )
    def nodes(
        self, info: Info, ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids.")]
    ) -> list[Awaitable[Node]]:
        return [resolve_node(info, str(global_id)) for global_id in ids]

    @strawberry.field(description="One location by id; null with a NOT_FOUND error if there is none.")
    async def location(self, info: Info, id: IdArgument) -> Location | None:
        return await resolve_typed_node(info, Location, str(id))

    @strawberry.field(description="The locations of the network, by name.")
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

    @strawberry.field(description="Status, freshness, conflicts and queued writes of every location.")
    async def network_health(self, info: Info) -> NetworkHealth:
        entries = await network_health(info.context)
        return NetworkHealth(checked_at=utc_now(), locations=[LocationHealth.from_data(entry) for entry in entries])
