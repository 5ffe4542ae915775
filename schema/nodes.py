"""Global object identification: which loader finds each node type, and the node/nodes root fields."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.errors import NotFoundError
from resolvers.ids import from_global_id, key_of
from resolvers.loading import BatchLoader
from schema.arguments import IdArgument
from schema.bookings.types import Booking
from schema.catalog.types import Resource, Service
from schema.customers.types import Customer
from schema.inventory.types import StockItem
from schema.locations.types import Location
from schema.permissions import Permission, requires
from schema.relay import Node
from schema.sync.types import Conflict, SyncJob

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


@strawberry.type
class NodeQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="Fetches any object by its global id; null with a NOT_FOUND error if there is none.",
    )
    async def node(self, info: Info, id: IdArgument) -> Node | None:
        return await resolve_node(info, str(id))

    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        graphql_type=list[Node | None],
        description="Fetches several objects by global id, in the order asked; an unknown id gives null and an error.",
    )
    def nodes(
        self, info: Info, ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids.")]
    ) -> list[Awaitable[Node]]:
        return [resolve_node(info, str(global_id)) for global_id in ids]
