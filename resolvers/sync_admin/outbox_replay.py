"""replayOutboxMessage: give a dead-lettered (or rejected) write another go."""

from __future__ import annotations

from resolvers import bounds
from resolvers.authorization import require_visible_outbox_message
from resolvers.context import Context
from resolvers.errors import ConflictError, NotFoundError
from resolvers.results import WriteResult
from sources.cache.models import OutboxMessage
from sources.cache.types import utc_now
from sync.outbox.queue import DEAD, PENDING, Queued


async def replay_outbox_message(context: Context, message_id: str) -> WriteResult:
    bounds.key("id", message_id)
    await require_visible_outbox_message(context, message_id)
    async with context.services.writer.transaction() as session:
        message = await session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFoundError(f"no outbox message {message_id}", field="id")
        if message.status != DEAD:
            raise ConflictError(
                f"only dead-lettered messages can be replayed; this one is {message.status}", status=message.status
            )
        message.status, message.attempts, message.next_attempt_at = PENDING, 0, utc_now()
    outcome = await context.services.deliverer.deliver(Queued(message.id, message.location_id))
    context.services.worker.wake()
    return WriteResult("outbox_message", message_id, (outcome,))
