"""The gateway as an Apollo Federation v2 subgraph: `_service { sdl }` and `_entities(representations:)`.

The entities other subgraphs may extend are Location, Customer, Booking, Service and Resource, each keyed
by `@key(fields: "id")`: the same global id ("Booking:bkg_…") clients see and `node(id)` takes. A router
asks `_entities` as the caller it serves (it forwards the caller's Authorization header), so every
representation is an ordinary read by that principal, answered as `nodes` answers: through the request's
loaders (N representations of one type are one loader batch) within the caller's row scope; a row the caller
may not see, like one that does not exist, is null with a NOT_FOUND error at its place in the list.
`_service` is the schema itself, so it is introspection by another name (schema/introspection.py).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Final, Literal, Protocol, runtime_checkable

import strawberry
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema
from strawberry.types import Info
from strawberry.types.scalar import scalar

from resolvers.errors import InvalidInputError
from schema.bookings.types import Booking
from schema.catalog.types import Resource, Service
from schema.customers.types import Customer
from schema.locations.types import Location
from schema.nodes import resolve_typed_node
from schema.permissions import Permission, requires
from schema.relay import Node

# The Federation spec version the SDL links: `@key` is all the gateway imports, and 2.3 is understood by every
# Federation 2 router and composition still in use (strawberry's own default moves with its releases).
FEDERATION_VERSION: Final[Literal["2.3"]] = "2.3"

ENTITY_TYPES: dict[str, type[Node]] = {
    entity.__name__: entity for entity in (Location, Customer, Booking, Service, Resource)
}

Entity = Annotated[
    Location | Customer | Booking | Service | Resource,
    strawberry.union("_Entity", description='The gateway\'s entities a supergraph may extend (`@key(fields: "id")`).'),
]

# The `_Any` scalar federation's Schema adds, with the description every type here carries.
ANY_SCALAR = scalar(
    name="_Any",
    description='An entity representation: `{"__typename": "Booking", "id": "Booking:bkg_…"}`.',
    serialize=lambda value: value,
    parse_value=lambda value: value,
)

REPRESENTATION_HINT = 'a representation is {"__typename": T, "id": "T:…"} with T one of ' + ", ".join(
    sorted(ENTITY_TYPES)
)


@runtime_checkable
class PrintsSubgraphSdl(Protocol):
    """A schema that keeps its printed SDL (GatewaySchema: printed once, on first ask)."""

    @property
    def subgraph_sdl(self) -> str: ...


@strawberry.type(name="_Service", description="This subgraph as a supergraph composition reads it.")
class FederatedService:
    @strawberry.field(description="The schema in SDL with its Federation directives (`@link`, `@key`).")
    def sdl(self, info: Info) -> str:
        schema = info.schema
        # Printing the schema takes tens of milliseconds on the event loop; a router asks for it again and again.
        return schema.subgraph_sdl if isinstance(schema, PrintsSubgraphSdl) else print_schema(schema)


async def resolve_entity(info: Info, representation: Any) -> Node:
    """One representation, found again as `node(id)` would find it: in the caller's scope, or NOT_FOUND."""
    if not isinstance(representation, dict):
        raise InvalidInputError(REPRESENTATION_HINT, field="representations")
    type_name, global_id = representation.get("__typename"), representation.get("id")
    if not isinstance(type_name, str) or type_name not in ENTITY_TYPES or not isinstance(global_id, str):
        raise InvalidInputError(REPRESENTATION_HINT, field="representations")
    return await resolve_typed_node(info, ENTITY_TYPES[type_name], global_id)


@strawberry.type
class FederationQueries:
    @strawberry.field(
        name="_service",
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        description="The gateway's subgraph SDL for a supergraph composition; as introspection, it needs a "
        "credential and is off with `GATEWAY_INTROSPECTION=false`.",
    )
    def federation_service(self) -> FederatedService:
        return FederatedService()

    @strawberry.field(
        name="_entities",
        permission_classes=[requires(Permission.VIEW_NETWORK)],
        graphql_type=list[Entity | None],
        description="The entities named by representations, in their order, as the caller may see them: null with "
        "a NOT_FOUND error for one that does not exist or is outside the caller's scope.",
    )
    def federation_entities(
        self,
        info: Info,
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(description='`{"__typename", "id"}` of each entity, as a router sends them.'),
        ],
    ) -> list[Awaitable[Node]]:
        limit = info.context.settings.max_page_size
        if len(representations) > limit:
            raise InvalidInputError(f"at most {limit} representations in one `_entities` call", field="representations")
        return [resolve_entity(info, representation) for representation in representations]
