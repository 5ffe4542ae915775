"""Every change the gateway applies leaves two traces: a change-log row and an audit row.

The change log keeps before and after images (delta cursors and rollback read it);
the audit trail keeps who asked, under which request.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import AuditEntry, ChangeLogEntry


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """A row image the JSON column can hold: datetimes and dates as ISO strings."""
    return {name: value.isoformat() if isinstance(value, (datetime, date)) else value for name, value in values.items()}


async def log_change(
    session: AsyncSession,
    *,
    entity_type: str,
    entity_id: str,
    location_id: str | None,
    operation: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    version: int = 1,
    sync_job_id: str | None = None,
) -> None:
    await session.execute(
        insert(ChangeLogEntry).values(
            entity_type=entity_type,
            entity_id=entity_id,
            location_id=location_id,
            operation=operation,
            before=jsonable(before) if before is not None else None,
            after=jsonable(after) if after is not None else None,
            version=version,
            sync_job_id=sync_job_id,
        )
    )


async def audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    location_id: str | None,
    request_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        insert(AuditEntry).values(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            location_id=location_id,
            request_id=request_id,
            details=jsonable(details or {}),
        )
    )
