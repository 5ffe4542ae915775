"""Where each location's sync stands: per entity type, the last step a job ran and where its cursor is; and
what went wrong lately (failed sync steps, writes given up on, webhooks refused)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select

from resolvers.context import Context
from sources.cache.models import AuditEntry, OutboxMessage, SyncCursor, SyncLog
from sync.outbox.queue import DEAD

sync_logs = SyncLog.__table__
WEBHOOK_REFUSED = "webhook.refused"  # sync.webhooks.refusals' audit action
FAILED = "failed"


ProblemKind = Literal["sync_step", "outbox_dead", "webhook_refused"]


@dataclass(frozen=True, slots=True)
class EntitySyncStatus:
    entity_type: str
    last_job_id: str | None = None
    last_status: str | None = None
    last_operation: str | None = None  # delta|full
    last_started_at: datetime | None = None
    last_completed_at: datetime | None = None
    last_entity_count: int = 0
    last_error: str | None = None
    cursor_changed_at: datetime | None = None
    cursor_key: str | None = None
    full_synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncProblem:
    kind: ProblemKind
    id: str
    location_id: str
    occurred_at: datetime
    what: str
    detail: str | None


async def entity_sync_status(context: Context, location_ids: Sequence[str]) -> dict[str, list[EntitySyncStatus]]:
    """Per location (of those given, which the caller may see), one row per entity type it was synced for."""
    ids = context.scope.visible_locations(location_ids)
    ranked = (
        select(
            sync_logs,
            func.row_number()
            .over(
                partition_by=(sync_logs.c.location_id, sync_logs.c.sync_type),
                order_by=(sync_logs.c.started_at.desc(), sync_logs.c.id.desc()),
            )
            .label("rank"),
        )
        .where(sync_logs.c.location_id.in_(ids), context.scope.sync_logs())
        .subquery()
    )
    async with context.engine.connect() as connection:
        steps = (await connection.execute(select(ranked).where(ranked.c.rank == 1))).all()
        cursors = (await connection.execute(select(SyncCursor).where(SyncCursor.location_id.in_(ids)))).all()
    found: dict[tuple[str, str], EntitySyncStatus] = {}
    for cursor in cursors:
        found[(cursor.location_id, cursor.entity_type)] = EntitySyncStatus(
            entity_type=cursor.entity_type,
            cursor_changed_at=cursor.changed_at,
            cursor_key=cursor.key,
            full_synced_at=cursor.full_synced_at,
        )
    for step in steps:
        held = found.get((step.location_id, step.sync_type), EntitySyncStatus(entity_type=step.sync_type))
        found[(step.location_id, step.sync_type)] = EntitySyncStatus(
            entity_type=step.sync_type,
            last_job_id=step.sync_job_id,
            last_status=step.status,
            last_operation=step.operation,
            last_started_at=step.started_at,
            last_completed_at=step.completed_at,
            last_entity_count=step.entity_count,
            last_error=step.error_details,
            cursor_changed_at=held.cursor_changed_at,
            cursor_key=held.cursor_key,
            full_synced_at=held.full_synced_at,
        )
    answer: dict[str, list[EntitySyncStatus]] = {location_id: [] for location_id in ids}
    for (location_id, _), status in sorted(found.items()):
        answer[location_id].append(status)
    return answer


async def sync_problems(
    context: Context, location_ids: Sequence[str], *, before: datetime | None, limit: int
) -> list[SyncProblem]:
    """The newest `limit` problems at the locations (older than `before`, when given), newest first."""
    ids = context.scope.visible_locations(location_ids)
    scope = context.scope
    steps = select(SyncLog).where(SyncLog.location_id.in_(ids), SyncLog.status == FAILED, scope.sync_logs())
    dead = select(OutboxMessage).where(OutboxMessage.location_id.in_(ids), OutboxMessage.status == DEAD, scope.outbox())
    refused = select(AuditEntry).where(AuditEntry.location_id.in_(ids), AuditEntry.action == WEBHOOK_REFUSED)
    if before is not None:
        steps = steps.where(SyncLog.started_at < before)
        dead = dead.where(OutboxMessage.next_attempt_at < before)
        refused = refused.where(AuditEntry.occurred_at < before)
    steps = steps.order_by(SyncLog.started_at.desc(), SyncLog.id.desc()).limit(limit)
    dead = dead.order_by(OutboxMessage.next_attempt_at.desc(), OutboxMessage.id.desc()).limit(limit)
    refused = refused.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(limit)
    async with context.engine.connect() as connection:
        problems = [
            SyncProblem(
                "sync_step",
                str(row.id),
                row.location_id,
                row.started_at,
                f"{row.operation} {row.sync_type}",
                row.error_details,
            )
            for row in (await connection.execute(steps)).all()
        ]
        problems += [
            SyncProblem(
                "outbox_dead",
                row.id,
                row.location_id,
                row.next_attempt_at,
                f"{row.operation} {row.entity_type}",
                row.last_error,
            )
            for row in (await connection.execute(dead)).all()
        ]
        problems += [
            SyncProblem(
                "webhook_refused",
                str(row.id),
                row.location_id or "",
                row.occurred_at,
                f"{row.details.get('status')} {row.entity_id}",
                str(row.details.get("reason") or "") or None,
            )
            for row in (await connection.execute(refused)).all()
        ]
    problems.sort(key=lambda problem: problem.occurred_at, reverse=True)
    return problems[:limit]
