"""Checks and steps every mutation shares."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from resolvers.results import WriteResult
from sources.cache.journal import audit
from sources.cache.models import Location
from sources.cache.types import utc_now
from sources.connectors.base import Capability
from sync.outbox.delivery import DeliveryOutcome
from sync.outbox.messages import Message
from sync.outbox.queue import Addressed, Queued, enqueue, enqueue_all


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def require_future(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise InvalidInputError(f"`{name}` needs a timezone offset, e.g. 2026-11-21T09:00:00Z", field=name)
    if value <= utc_now():
        raise InvalidInputError(f"`{name}` is in the past", field=name)


def require_positive(name: str, value: int) -> None:
    if value <= 0:
        raise InvalidInputError(f"`{name}` must be greater than zero", field=name)


async def get_or_not_found(session: AsyncSession, model: Any, key: str, what: str) -> Any:
    row = await session.get(model, key)
    if row is None:
        raise NotFoundError(f"no {what} {key}", id=key)
    return row


def location_supports(context: Context, location_id: str, capability: Capability) -> bool:
    """Whether the gateway can do this at the location through its connector."""
    connector = context.services.connectors.get(location_id)
    return connector is not None and capability in connector.capabilities


def require_capability(context: Context, location: Location, capability: Capability, doing: str) -> None:
    if not location_supports(context, location.id, capability):
        raise InvalidInputError(
            f"{location.name} ({location.kind}) cannot {doing} through the gateway", locationId=location.id
        )


async def audit_write(
    context: Context,
    session: AsyncSession,
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    location_id: str | None,
    details: dict[str, Any],
) -> None:
    """Record who changed what (the audit log), inside the write's own transaction."""
    await audit(
        session,
        actor=context.principal.subject,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        location_id=location_id,
        request_id=context.request_id,
        details=details,
    )


async def enqueue_for_owner(session: AsyncSession, *, location_id: str, message: Message[Any], key: str) -> Queued:
    """Queue a write for the location that owns the entity, inside the caller's transaction.

    Only enqueues: `deliver` (after the transaction commits) tries it at once, the outbox worker later.
    """
    row = await enqueue(session, location_id=location_id, message=message, idempotency_key=key)
    return Queued(row.id, row.location_id)


async def enqueue_for_owners(session: AsyncSession, messages: list[Addressed]) -> list[Queued]:
    """`enqueue_for_owner` for several locations at once: one INSERT for all of them."""
    return [Queued(row.id, row.location_id) for row in await enqueue_all(session, messages)]


async def deliver(context: Context, entity_type: str, entity_id: str | None, messages: list[Queued]) -> WriteResult:
    outcomes: list[DeliveryOutcome] = await context.services.deliverer.deliver_all(messages)
    return WriteResult(entity_type, entity_id, tuple(outcomes))
