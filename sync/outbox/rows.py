"""Rows a delivery reads, several at once: a write fanned out to N locations reads them in one statement each,
not N (on SQLite every statement is a round trip to aiosqlite's thread, on PostgreSQL one to the server)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from sources.cache.models import OutboxMessage, SyncState

StateKey = tuple[str, str, str]  # a SyncState's primary key: entity type, entity id, location id


async def load_messages(session: AsyncSession, message_ids: Sequence[str]) -> list[OutboxMessage]:
    """The outbox rows of these ids, in their order; NoResultFound (as `session.get_one`) if one is missing."""
    if len(message_ids) == 1:  # by primary key: a row the session already holds costs no statement
        return [await session.get_one(OutboxMessage, message_ids[0])]
    rows = await session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))
    by_id = {row.id: row for row in rows.scalars()}
    missing = [message_id for message_id in message_ids if message_id not in by_id]
    if missing:
        await session.get_one(OutboxMessage, missing[0])  # raises, as for one id
    return [by_id[message_id] for message_id in message_ids]


async def load_sync_states(session: AsyncSession, keys: Sequence[StateKey]) -> dict[StateKey, SyncState]:
    """The agreements of these keys that exist, by key. While the caller holds the answer, a
    `session.get(SyncState, key)` of one of them (sync.apply.state.agree) needs no statement: the session's
    identity map holds what it loaded only weakly."""
    if not keys:
        return {}
    if len(keys) == 1:
        state = await session.get(SyncState, keys[0])
        return {} if state is None else {keys[0]: state}
    rows = await session.execute(
        select(SyncState).where(*in_each(keys, SyncState.entity_type, SyncState.entity_id, SyncState.location_id))
    )
    wanted = set(keys)
    by_key = {(state.entity_type, state.entity_id, state.location_id): state for state in rows.scalars()}
    return {key: state for key, state in by_key.items() if key in wanted}


def in_each(keys: Iterable[tuple[Any, ...]], *columns: InstrumentedAttribute[Any]) -> list[ColumnElement[bool]]:
    """`column IN (its values)` for each column of the keys: a superset of the keys, for the caller to pick from.

    Not `(a, b, c) IN (VALUES ...)`: SQLite scans the whole table for that, and sync_states holds a row per
    record and location (2.8 ms at the demo network's size, per statement); column by column it walks the
    primary key."""
    values = list(zip(*keys, strict=True))
    return [column.in_(sorted(set(value))) for column, value in zip(columns, values, strict=True)]
