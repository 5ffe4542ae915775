"""The durable outbox: every write to a location is a row here before it is sent.

A mutation writes its cache change and its outbox messages in one transaction, then
tries to deliver them at once. Whatever could not be delivered stays pending and the
`OutboxWorker` retries it with exponential backoff and jitter until it lands, or marks
it dead after `max_attempts` (visible, replayable). A message is sent with its
idempotency key, so a delivery retried after a lost answer is applied once.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sources.cache.models import OutboxMessage
from sources.cache.types import utc_now
from sync.outbox.messages import Message

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
CANCELLED = "cancelled"
REJECTED = "rejected"  # the location refused it; the cache change was compensated
# While the request that wrote a message is delivering it itself, the worker leaves it alone.
INLINE_LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Queued:
    """A message written to the outbox, and the location it waits for."""

    id: str
    location_id: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Full jitter: anywhere up to base * 2^(attempts-1), capped."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True, slots=True)
class Depth:
    """What waits in the outbox for one location: to deliver, and given up on (dead letters)."""

    pending: int = 0
    dead: int = 0


async def depth_by_location(engine: AsyncEngine) -> dict[str, Depth]:
    """Pending and dead messages per location (those with neither are left out), in one statement."""
    statement = (
        select(
            OutboxMessage.location_id,
            func.count().filter(OutboxMessage.status == PENDING),
            func.count().filter(OutboxMessage.status == DEAD),
        )
        .where(OutboxMessage.status.in_((PENDING, DEAD)))
        .group_by(OutboxMessage.location_id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return {str(row[0]): Depth(pending=int(row[1]), dead=int(row[2])) for row in rows}


@dataclass(frozen=True, slots=True)
class Addressed:
    """A message for one location, and the idempotency key the location is to dedupe it by."""

    location_id: str
    message: Message[Any]
    idempotency_key: str


async def enqueue(
    session: AsyncSession,
    *,
    location_id: str,
    message: Message[Any],
    idempotency_key: str,
    lease_inline: bool = True,
) -> OutboxMessage:
    """A pending row for the message; `lease_inline` keeps the worker off it while the caller delivers it itself."""
    (row,) = await enqueue_all(session, [Addressed(location_id, message, idempotency_key)], lease_inline=lease_inline)
    return row


async def enqueue_all(
    session: AsyncSession, messages: Sequence[Addressed], *, lease_inline: bool = True
) -> list[OutboxMessage]:
    """A pending row for each message, written in one flush (one INSERT for all, not one per location)."""
    rows = [
        OutboxMessage(
            id=f"obx_{uuid.uuid4().hex[:16]}",
            location_id=addressed.location_id,
            entity_type=addressed.message.entity_type,
            entity_id=addressed.message.entity_id(addressed.location_id),
            operation=addressed.message.op,
            payload=addressed.message.encode(),
            idempotency_key=addressed.idempotency_key,
            status=PENDING,
            attempts=0,
            next_attempt_at=utc_now() + INLINE_LEASE if lease_inline else utc_now(),
        )
        for addressed in messages
    ]
    if rows:
        session.add_all(rows)
        await session.flush()
    return rows


async def lease_due(session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Take up to `limit` due messages, oldest first, pushing their next attempt past the lease.

    The conditional update makes two workers (two replicas) never take the same message. On PostgreSQL the due
    rows are locked as they are read, skipping any another transaction holds (an apply superseding them): the
    worker never waits on a writer while holding rows that writer wants next, so the two cannot deadlock.
    """
    due_messages = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        due_messages = due_messages.with_for_update(skip_locked=True)
    due = (await session.execute(due_messages)).scalars().all()
    taken: list[OutboxMessage] = []
    for message in due:
        claimed = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.next_attempt_at == message.next_attempt_at,
                OutboxMessage.status == PENDING,
            )
            .values(next_attempt_at=now + lease)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(message)
    return taken


async def supersede(session: AsyncSession, entity_type: str, entity_id: str, location_id: str, why: str) -> int:
    """Cancel what still waits to be sent about an entity to a location: a resolution replaced it."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.entity_type == entity_type,
            OutboxMessage.entity_id == entity_id,
            OutboxMessage.location_id == location_id,
            OutboxMessage.status == PENDING,
        )
        .values(status=CANCELLED, last_error=f"superseded: {why}")
    )
    return int(getattr(result, "rowcount", 0) or 0)
