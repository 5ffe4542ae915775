"""unshareResource: end a location's loan of a resource."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.catalog import sharing as resource_writes
from resolvers.results import WriteResult
from schema.catalog.types import Resource
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, load_resource, run_write


@strawberry.input(description="A loan of a resource to end.")
class UnshareResourceInput:
    idempotency_key: str = idempotency_key_field()
    resource_id: strawberry.ID = strawberry.field(description="Global id of the shared resource.")
    with_location_id: strawberry.ID = strawberry.field(description="Global id of the borrowing location.")


@strawberry.type(description="The answer to unshareResource.")
class UnshareResourcePayload(MutationPayload):
    resource_key: strawberry.Private[str | None]

    @strawberry.field(description="The resource as it is now; null when the request was refused (see errors).")
    async def resource(self, info: Info) -> Resource | None:
        return await load_resource(info, self.resource_key)


@strawberry.type
class ResourceUnshareMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.SHARE_RESOURCES)],
        description="Stops sharing a resource with a location; the owning location is told.",
    )
    async def unshare_resource(
        self, info: Info, input: Annotated[UnshareResourceInput, strawberry.argument(description="The loan to end.")]
    ) -> UnshareResourcePayload:
        async def perform() -> WriteResult:
            return await resource_writes.unshare_resource(
                info.context,
                resource_id=key_for(input.resource_id, "Resource", "resourceId"),
                with_location_id=key_for(input.with_location_id, "Location", "withLocationId"),
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        return UnshareResourcePayload(outcomes=written.outcomes, errors=written.errors, resource_key=written.entity_id)
