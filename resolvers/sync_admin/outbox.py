"""The outbox as a list: what waits for which location, what was given up on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from resolvers.context import Context
from resolvers.errors import InvalidInputError
from sources.cache.models import OutboxMessage
from sync.outbox.queue import CANCELLED, DEAD, DELIVERED, PENDING, REJECTED

STATUSES = frozenset({PENDING, DELIVERED, REJECTED, DEAD, CANCELLED})


async def list_outbox_messages(
    context: Context, statuses: Sequence[str] | None, location_ids: Sequence[str] | None, limit: int
) -> list[Any]:
    """Newest first; statuses from STATUSES."""
    if not 1 <= limit <= context.settings.max_page_size:
        raise InvalidInputError(f"`first` must be between 1 and {context.settings.max_page_size}", field="first")
    unknown = sorted(set(statuses or ()) - STATUSES)
    if unknown:
        raise InvalidInputError(f"unknown statuses: {', '.join(unknown)}", field="statuses")
    statement = (
        select(OutboxMessage)
        .where(context.scope.outbox())
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    if statuses:
        statement = statement.where(OutboxMessage.status.in_(statuses))
    if location_ids:
        statement = statement.where(OutboxMessage.location_id.in_(location_ids))
    async with context.engine.connect() as connection:
        return list((await connection.execute(statement)).all())
