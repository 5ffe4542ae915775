"""Delta cursors: where the last pull of each entity type from each location stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sources.cache.models import SyncCursor
from sources.cache.types import utc_now
from sources.connectors.records import Cursor, EntityType


async def load_cursor(
    connection: AsyncConnection | AsyncSession, location_id: str, entity_type: EntityType
) -> Cursor | None:
    row = (
        await connection.execute(
            select(SyncCursor.changed_at, SyncCursor.key).where(
                SyncCursor.location_id == location_id, SyncCursor.entity_type == entity_type.value
            )
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return Cursor(row[0], row[1])


async def last_full_sync(connection: AsyncConnection, location_id: str) -> datetime | None:
    return (
        await connection.execute(
            select(func.min(SyncCursor.full_synced_at)).where(SyncCursor.location_id == location_id)
        )
    ).scalar()


async def save_cursor(
    session: AsyncSession, location_id: str, entity_type: EntityType, cursor: Cursor | None, *, full: bool = False
) -> None:
    now = utc_now()
    values: dict[str, object] = {"updated_at": now}
    if cursor is not None:
        values.update(changed_at=cursor.changed_at, key=cursor.key)
    if full:
        values["full_synced_at"] = now
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(SyncCursor).values(
        location_id=location_id, entity_type=entity_type.value, **values
    )
    statement = statement.on_conflict_do_update(index_elements=["location_id", "entity_type"], set_=values)
    await session.execute(statement)
