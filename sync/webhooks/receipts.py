"""One application per delivered event, and no older event over newer data.

A receipt is written in the same transaction as the delivery's effect: two copies of one event, however
concurrent, cannot both commit (the unique (source, event_id) refuses the second, which then changes
nothing), and a crash between the effect and the receipt cannot happen, since they commit together.

Ordering: an event that names its entity and the time it happened at the sender is compared with the newest
event applied for that entity from that sender; an older one is recorded as stale, its payload kept in the
change log (operation "stale", beside the entity's real changes) and nothing of it applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import WebhookReceipt

EVENT_ID_MAX = 200
STALE = "stale"
APPLIED = "applied"


class Outcome(StrEnum):
    APPLY = "apply"
    STALE = "stale"


class DuplicateDelivery(Exception):
    """This event was applied before (or is being applied by a concurrent delivery): apply nothing."""

    def __init__(self, source: str, event_id: str) -> None:
        super().__init__(f"event {event_id!r} from {source} was already received")
        self.source = source
        self.event_id = event_id


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One inbound event: who sent it, its id at the sender, and (for ordering) what and when it is about."""

    source: str  # the sender: "<kind>:<location id>" or a platform's name
    event_id: str  # the sender's event id, or the body's hash where the sender gives none
    payload_sha256: str
    entity_type: str | None = None  # "booking", "customer", ...: with entity_id and occurred_at, ordered
    entity_id: str | None = None
    occurred_at: datetime | None = None

    @property
    def entity_key(self) -> str | None:
        if self.entity_type is None or self.entity_id is None:
            return None
        return f"{self.entity_type}:{self.entity_id}"[:EVENT_ID_MAX]


async def receive(
    session: AsyncSession,
    delivery: Delivery,
    *,
    location_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Outcome:
    """Record the delivery in the caller's transaction: APPLY when its effect should follow, STALE when a newer
    event for the same entity was applied already (the receipt and the losing payload are kept; apply nothing).
    Raises DuplicateDelivery when the event was received before; the caller's transaction must then roll back."""
    newest: datetime | None = None
    key = delivery.entity_key
    if key is not None and delivery.occurred_at is not None:
        newest = await session.scalar(
            select(func.max(WebhookReceipt.occurred_at)).where(
                WebhookReceipt.source == delivery.source,
                WebhookReceipt.entity_key == key,
                WebhookReceipt.outcome == APPLIED,
            )
        )
    stale = newest is not None and delivery.occurred_at is not None and delivery.occurred_at < newest
    receipt = WebhookReceipt(
        source=delivery.source,
        event_id=delivery.event_id[:EVENT_ID_MAX],
        payload_sha256=delivery.payload_sha256,
        entity_key=key,
        occurred_at=delivery.occurred_at,
        outcome=STALE if stale else APPLIED,
    )
    session.add(receipt)
    try:
        # A savepoint: the caller's session stays usable to answer (and to roll back) after a duplicate.
        async with session.begin_nested():
            await session.flush([receipt])
    except IntegrityError:
        raise DuplicateDelivery(delivery.source, delivery.event_id) from None
    if not stale:
        return Outcome.APPLY
    assert delivery.entity_type is not None and delivery.entity_id is not None
    await log_change(
        session,
        entity_type=delivery.entity_type,
        entity_id=delivery.entity_id,
        location_id=location_id,
        operation=STALE,
        before=None,
        after={"event_id": delivery.event_id, "occurred_at": delivery.occurred_at, "payload": payload or {}},
    )
    return Outcome.STALE
