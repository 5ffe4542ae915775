"""Deciding what a pulled change does to the cache: apply it, merge it, or record a conflict.

A conflict is recorded with both sides (and the agreed base) so nothing is lost, then
settled by the strategy configured for the entity type: `hub_wins` keeps the network's
values for the clashing fields, `node_wins` takes the location's, `newest` takes the side
changed last (its own timestamps: the strategy is about time, detection is not), and
`manual` applies nothing and leaves the conflict pending for a person.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import ChangeLogEntry, Conflict
from sources.cache.types import utc_now
from sync.apply.state import Comparison, Image, image_from, same
from sync.events import DomainEvent, conflict_event
from sync.types import Strategy

Events = list[DomainEvent]


@dataclass(frozen=True, slots=True)
class ConflictPolicy:
    default: Strategy = Strategy.HUB_WINS
    per_entity: Mapping[str, Strategy] = field(default_factory=dict)

    def for_entity(self, entity_type: str) -> Strategy:
        return self.per_entity.get(entity_type, self.default)


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a change: its field values, version token and when it says it changed."""

    image: Image
    version: int
    changed_at: datetime | None

    def data(self, fields: Image | None = None) -> dict[str, Any]:
        return {
            "fields": fields if fields is not None else self.image,
            "version": self.version,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }


@dataclass(slots=True)
class Verdict:
    apply: Image  # fields to write into the cache record
    push_back: bool  # the location lacks some of the network's values: send them
    conflict_id: str | None = None
    pending: bool = False


async def last_changed_by(session: AsyncSession, entity_type: str, entity_id: str, other_than: str) -> str | None:
    """The location whose change the network holds now (None: a gateway write or nobody yet)."""
    row = (
        await session.execute(
            select(ChangeLogEntry.location_id)
            .where(
                ChangeLogEntry.entity_type == entity_type,
                ChangeLogEntry.entity_id == entity_id,
                ChangeLogEntry.location_id != other_than,
                # A stale webhook's payload is kept beside the changes, but changed nothing.
                ChangeLogEntry.operation != "stale",
            )
            .order_by(ChangeLogEntry.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else row[0]


async def record_conflict(
    session: AsyncSession,
    *,
    conflict_type: str,
    entity_type: str,
    entity_id: str,
    source_location_id: str,
    target_location_id: str | None,
    source: dict[str, Any],
    target: dict[str, Any],
    base: Image | None,
    strategy: Strategy,
    resolved: Image | None,
    job_id: str | None,
    events: Events,
) -> Conflict:
    """One pending conflict per entity and source: a newer clash updates it instead of adding another."""
    row = (
        await session.execute(
            select(Conflict).where(
                Conflict.entity_type == entity_type,
                Conflict.entity_id == entity_id,
                Conflict.source_location_id == source_location_id,
                Conflict.conflict_type == conflict_type,
                Conflict.status == "pending",
            )
        )
    ).scalar()
    if row is None:
        row = Conflict(
            id=f"cfl_{uuid.uuid4().hex[:12]}",
            conflict_type=conflict_type,
            entity_type=entity_type,
            entity_id=entity_id,
            source_location_id=source_location_id,
            status="pending",
        )
        session.add(row)
    row.target_location_id = target_location_id
    row.source_data, row.target_data = source, target
    row.base_data = base
    row.sync_job_id = job_id
    row.resolution_strategy = strategy.value
    if resolved is not None:
        row.status, row.resolved_data = "resolved", resolved
        row.resolved_by, row.resolved_at = f"strategy:{strategy.value}", utc_now()
    await session.flush()
    events.append(conflict_event(row, "detected"))
    if resolved is not None:
        events.append(conflict_event(row, "resolved"))
    return row


def winner(strategy: Strategy, location: Side, network: Side) -> Strategy:
    """`newest` becomes hub_wins or node_wins by the sides' own change times (ties keep the network's)."""
    if strategy is not Strategy.NEWEST:
        return strategy
    if location.changed_at is not None and network.changed_at is not None and location.changed_at > network.changed_at:
        return Strategy.NODE_WINS
    return Strategy.HUB_WINS


async def decide_conflict(
    session: AsyncSession,
    *,
    policy: ConflictPolicy,
    entity_type: str,
    entity_id: str,
    location_id: str,
    comparison: Comparison,
    base: Image,
    location: Side,
    network: Side,
    job_id: str | None,
    events: Events,
) -> Verdict:
    network_only = any(
        not same(network.image.get(name), location.image.get(name))
        for name in comparison.network_changes
        if name not in comparison.location_changes
    )
    if not comparison.is_conflict:
        return Verdict(apply=dict(comparison.location_changes), push_back=network_only)
    strategy = policy.for_entity(entity_type)
    decided = winner(strategy, location, network)
    if decided is Strategy.MANUAL:
        apply: Image = {}
        resolved = None
    elif decided is Strategy.NODE_WINS:
        apply = dict(comparison.location_changes)
        resolved = {**network.image, **apply}
    else:
        apply = {name: value for name, value in comparison.location_changes.items() if name not in comparison.clashes}
        resolved = {**network.image, **apply}
    row = await record_conflict(
        session,
        conflict_type="concurrent_update",
        entity_type=entity_type,
        entity_id=entity_id,
        source_location_id=location_id,
        target_location_id=await last_changed_by(session, entity_type, entity_id, location_id),
        source=location.data(),
        target=network.data(),
        base=image_from(base),
        strategy=strategy,
        resolved=resolved,
        job_id=job_id,
        events=events,
    )
    if decided is Strategy.MANUAL:
        return Verdict(apply={}, push_back=False, conflict_id=row.id, pending=True)
    push_back = decided is Strategy.HUB_WINS or network_only
    return Verdict(apply=apply, push_back=push_back, conflict_id=row.id)
