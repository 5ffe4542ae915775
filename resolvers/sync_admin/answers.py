"""What the sync administration's commands answer with, as the schema's payloads show it: a rollback's
report, and an outbox message as it is now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from resolvers.context import Context
from sources.cache.models import OutboxMessage
from sync.types import RollbackReport

__all__ = ["RollbackReport", "outbox_message"]

_OUTBOX = OutboxMessage.__table__
# Not the payload: it can be large and is not part of the API.
_OUTBOX_COLUMNS = [
    _OUTBOX.c.id,
    _OUTBOX.c.location_id,
    _OUTBOX.c.entity_type,
    _OUTBOX.c.entity_id,
    _OUTBOX.c.operation,
    _OUTBOX.c.status,
    _OUTBOX.c.attempts,
    _OUTBOX.c.last_error,
    _OUTBOX.c.created_at,
    _OUTBOX.c.next_attempt_at,
    _OUTBOX.c.delivered_at,
]


async def outbox_message(context: Context, key: str) -> Any | None:
    """One outbox message's row (without its payload), or None."""
    async with context.engine.connect() as connection:
        return (await connection.execute(select(*_OUTBOX_COLUMNS).where(_OUTBOX.c.id == key))).first()
