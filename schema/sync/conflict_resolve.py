"""resolveConflict: a person decides a conflict that waits for one."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.sync_admin import queries as sync_resolvers
from schema.payloads import MutationError
from schema.permissions import Permission, requires
from schema.sync.enums import ConflictChoice
from schema.sync.payloads import attempt, load_conflict
from schema.sync.types import Conflict
from schema.write_inputs import json_object, key_for


@strawberry.input(description="A pending conflict and the decision: one side, or merged field values (not both).")
class ResolveConflictInput:
    id: strawberry.ID = strawberry.field(description="Global id of the conflict; it must be pending.")
    choice: ConflictChoice | None = strawberry.field(default=None, description="Keep this side's change as it is.")
    merged_data: JSON | None = strawberry.field(
        default=None,
        description='Field values to keep instead, a JSON object keyed like the sides\' `fields`, e.g. {"phone": '
        '"+447700900123"}; fields it leaves out keep the value the network holds.',
    )


@strawberry.type(description="The answer to resolveConflict.")
class ResolveConflictPayload:
    errors: list[MutationError] = strawberry.field(
        description="Expected failures, e.g. CONFLICT when it was resolved already, INVALID_INPUT for a bad decision."
    )
    conflict_key: strawberry.Private[str | None]

    @strawberry.field(description="The conflict as it is now; null when the request was refused.")
    async def conflict(self, info: Info) -> Conflict | None:
        return await load_conflict(info, self.conflict_key)


@strawberry.type
class ConflictResolveMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.SETTLE_SYNC)],
        description="Resolves a pending conflict: applies the chosen side or the merged values in the cache and "
        "sends the result to every location that holds the record. A conflict resolves once; a second request "
        "is refused with CONFLICT.",
    )
    async def resolve_conflict(
        self, info: Info, input: Annotated[ResolveConflictInput, strawberry.argument(description="The decision.")]
    ) -> ResolveConflictPayload:
        async def perform() -> str:
            key = key_for(input.id, "Conflict", "id")
            await sync_resolvers.resolve_conflict(
                info.context,
                key,
                choice=None if input.choice is None else str(input.choice.value),
                merged=None if input.merged_data is None else json_object(input.merged_data, "mergedData"),
            )
            return key

        conflict_key, errors = await attempt(info, perform)
        return ResolveConflictPayload(errors=errors, conflict_key=conflict_key)
