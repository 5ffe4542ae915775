"""replayOutboxMessage: give a dead-lettered write another go."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.results import WriteResult
from resolvers.sync_admin import outbox_replay as outbox_writes
from schema.payloads import MutationPayload, OutboxMessage, load_outbox_message
from schema.permissions import Permission, requires
from schema.write_inputs import key_for, run_write


@strawberry.input(description="A dead-lettered outbox message to deliver again.")
class ReplayOutboxMessageInput:
    id: strawberry.ID = strawberry.field(
        description="Global id of the outbox message (LocationOutcome.outboxMessageId); it must be dead-lettered."
    )


@strawberry.type(description="The answer to replayOutboxMessage.")
class ReplayOutboxMessagePayload(MutationPayload):
    message_key: strawberry.Private[str | None]

    @strawberry.field(description="The message as it is now; null when the request was refused (see errors).")
    async def outbox_message(self, info: Info) -> OutboxMessage | None:
        return None if self.message_key is None else await load_outbox_message(info, self.message_key)


@strawberry.type
class OutboxMessageReplayMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.OPERATE_SYNC)],
        description="Delivers a dead-lettered write again, now, with a fresh retry budget; if its location is "
        "still unreachable it stays queued and is retried with backoff. Replaying is safe: the location sees the "
        "write's original idempotency key.",
    )
    async def replay_outbox_message(
        self, info: Info, input: Annotated[ReplayOutboxMessageInput, strawberry.argument(description="The message.")]
    ) -> ReplayOutboxMessagePayload:
        async def perform() -> WriteResult:
            return await outbox_writes.replay_outbox_message(info.context, key_for(input.id, "OutboxMessage", "id"))

        written = await run_write(info, perform)
        return ReplayOutboxMessagePayload(
            outcomes=written.outcomes, errors=written.errors, message_key=written.entity_id
        )
