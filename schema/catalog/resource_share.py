"""shareResource: a location lends staff, a room or equipment to another location under rules."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.catalog import sharing as resource_writes
from resolvers.results import WriteResult
from schema.catalog.types import Resource
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, json_object, key_for, load_resource, run_write


@strawberry.input(description="A resource to lend, to whom, and on what terms.")
class ShareResourceInput:
    idempotency_key: str = idempotency_key_field()
    resource_id: strawberry.ID = strawberry.field(description="Global id of the resource; its location lends it.")
    with_location_id: strawberry.ID = strawberry.field(description="Global id of the borrowing location.")
    rules: JSON = strawberry.field(
        description="The terms, a JSON object; replaces the terms of an existing share. Every key is optional: "
        '"weekdays" (ISO weekdays 1 = Monday … 7 = Sunday, each once), "from" and "until" (the window of the day a '
        'booking starts and ends in, "HH:MM", from before until), "max_hours_per_week" (0..168, the borrower\'s '
        'bookings in the ISO week counted), "lead_time_hours" (0..2160, how long ahead a booking must be made), '
        '"priority" (1..100) and "notes" (up to 500 characters). Weekdays and hours are the owning location\'s '
        'local time. E.g. {"weekdays": [1, 2], "from": "09:00", "until": "13:00", "max_hours_per_week": 8, '
        '"lead_time_hours": 24}. Another key or a value out of range is INVALID_INPUT naming it (field rules.<key>).'
    )


@strawberry.type(description="The answer to shareResource.")
class ShareResourcePayload(MutationPayload):
    resource_key: strawberry.Private[str | None]

    @strawberry.field(description="The resource as it is now; null when the request was refused (see errors).")
    async def resource(self, info: Info) -> Resource | None:
        return await load_resource(info, self.resource_key)


@strawberry.type
class ResourceShareMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.SHARE_RESOURCES)],
        description="Shares a resource with another location (or changes the terms of an existing share); "
        "the owning location is told.",
    )
    async def share_resource(
        self, info: Info, input: Annotated[ShareResourceInput, strawberry.argument(description="The share.")]
    ) -> ShareResourcePayload:
        async def perform() -> WriteResult:
            return await resource_writes.share_resource(
                info.context,
                resource_id=key_for(input.resource_id, "Resource", "resourceId"),
                with_location_id=key_for(input.with_location_id, "Location", "withLocationId"),
                rules=json_object(input.rules, "rules"),
                key=input.idempotency_key,
            )

        written = await run_write(info, perform)
        return ShareResourcePayload(outcomes=written.outcomes, errors=written.errors, resource_key=written.entity_id)
