"""resolveConflict: a person picks a side (or writes merged values); the result reaches every location.

The entity type the conflict is about applies the chosen values to its cache record and sends
them, through the outbox, to the locations that hold the entity and do not have them yet. For a
double booking the choice says which booking keeps the slot; the other is cancelled at its location.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sources.cache.models import Conflict
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sync.apply.batch import ApplyResult, ApplyRules
from sync.apply.registry import owning
from sync.errors import ConflictAlreadyResolved, ConflictNotFound, InvalidResolution
from sync.events import conflict_event
from sync.types import ConflictChoice


async def resolve_conflict(
    writer: CacheWriter,
    rules: ApplyRules,
    conflict_id: str,
    *,
    choice: ConflictChoice | None,
    merged: dict[str, Any] | None,
    resolved_by: str,
) -> ApplyResult:
    async with writer.transaction() as session:
        statement = select(Conflict).where(Conflict.id == conflict_id)
        if writer.locks_rows:
            statement = statement.with_for_update()
        conflict = (await session.execute(statement)).scalar()
        if conflict is None:
            raise ConflictNotFound(f"no conflict {conflict_id}")
        if conflict.status != "pending":
            raise ConflictAlreadyResolved(f"conflict {conflict_id} was resolved already ({conflict.resolved_by})")
        entity = owning(conflict.entity_type)
        if entity is None:
            raise InvalidResolution(f"conflicts on {conflict.entity_type} cannot be resolved here")
        result = await entity.resolve(session, rules, conflict, choice, merged)
        conflict.status = "resolved"
        conflict.resolved_by = resolved_by
        conflict.resolved_at = utc_now()
        conflict.resolution_strategy = "manual"  # a person decided it, whatever held it pending
        await session.flush()
        result.events.append(conflict_event(conflict, "resolved"))
    return result
