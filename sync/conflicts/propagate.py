"""Sending the network's version of a record to the locations that hold it, through the outbox.

Used when a pull brought a change other locations should see (a customer edited at A
reaches B), when a strategy or a person kept the network's side of a conflict, and when
a rollback compensates what a job applied. What each entity type sends is its own
(`SyncedEntity.propagate` in `sync/apply/`); every push is an ordinary outbox message queued
here, so it is retried, dead-lettered and replayable like any write, and it carries the
version the gateway last saw (added at send time), so it never silently overwrites a newer edit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sync.outbox.messages import Message
from sync.outbox.queue import Queued, enqueue

Writable = Callable[[str], bool]  # whether the gateway can write customers at a location


def propagation_key(entity_id: str, location_id: str, why: str) -> str:
    return f"sync:{why}:{entity_id}:{location_id}:{uuid.uuid4().hex[:8]}"


async def propagation(session: AsyncSession, location_id: str, message: Message[Any], why: str) -> Queued:
    """Queue the message for the worker (nobody delivers a propagation inline)."""
    row = await enqueue(
        session,
        location_id=location_id,
        message=message,
        idempotency_key=propagation_key(message.entity_id(location_id), location_id, why),
        lease_inline=False,
    )
    return Queued(row.id, location_id)
