"""What the gateway and each location last agreed on, and how a pulled record compares with it.

A location's version token says whether the location changed a record since the last
agreement; the cache record differing from the agreed image (`base`) says whether the
network changed it. Neither is a clock. Both changed is a conflict only where the same
field was changed to different values: disjoint changes merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import SyncState
from sources.cache.types import utc_now

Image = dict[str, Any]  # field name -> JSON value (times as ISO strings)

CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone")
BOOKING_FIELDS = (
    "customer_id",
    "service_id",
    "resource_id",
    "start_at",
    "end_at",
    "status",
    "price_minor",
    "currency",
    "notes",
)
TIME_FIELDS = frozenset({"start_at", "end_at"})


def json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def image_of(row: Any, names: Sequence[str]) -> Image:
    return {name: json_value(getattr(row, name)) for name in names}


def image_from(values: Mapping[str, Any]) -> Image:
    return {name: json_value(value) for name, value in values.items()}


def row_value(name: str, value: Any) -> Any:
    """An image's value as the model column wants it."""
    if name in TIME_FIELDS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str) and left[:4].isdigit() and "T" in left and "T" in right:
        try:
            return datetime.fromisoformat(left) == datetime.fromisoformat(right)
        except ValueError:
            return left == right
    return bool(left == right)


@dataclass(frozen=True, slots=True)
class Comparison:
    location_changes: Image  # fields the location changed since the agreement, with its values
    network_changes: frozenset[str]  # fields the network changed since the agreement
    clashes: frozenset[str]  # changed on both sides, to different values

    @property
    def is_conflict(self) -> bool:
        return bool(self.clashes)


def compare(base: Image, network: Image, remote: Image) -> Comparison:
    location_changes = {name: value for name, value in remote.items() if not same(value, base.get(name))}
    network_changes = frozenset(name for name, value in network.items() if not same(value, base.get(name)))
    clashes = frozenset(
        name
        for name, value in location_changes.items()
        if name in network_changes and not same(value, network.get(name))
    )
    return Comparison(location_changes, network_changes, clashes)


async def load_states(
    session: AsyncSession, entity_type: str, location_id: str, entity_ids: Iterable[str]
) -> dict[str, SyncState]:
    ids = list(set(entity_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(SyncState).where(
            SyncState.entity_type == entity_type, SyncState.location_id == location_id, SyncState.entity_id.in_(ids)
        )
    )
    return {state.entity_id: state for state in rows.scalars()}


async def states_of(session: AsyncSession, entity_type: str, entity_id: str) -> dict[str, SyncState]:
    """Every location's agreement on one entity, by location."""
    rows = await session.execute(
        select(SyncState).where(SyncState.entity_type == entity_type, SyncState.entity_id == entity_id)
    )
    return {state.location_id: state for state in rows.scalars()}


async def agree(
    session: AsyncSession, entity_type: str, entity_id: str, location_id: str, version: int, image: Image
) -> None:
    """Record that the location holds `image` at `version` (fields not named keep their agreed value)."""
    existing = await session.get(SyncState, (entity_type, entity_id, location_id))
    if existing is not None:
        existing.remote_version = version
        existing.base = {**existing.base, **image_from(image)}
        existing.synced_at = utc_now()
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(SyncState).values(
        entity_type=entity_type,
        entity_id=entity_id,
        location_id=location_id,
        remote_version=version,
        base=image_from(image),
        synced_at=utc_now(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["entity_type", "entity_id", "location_id"],
        set_={"remote_version": statement.excluded.remote_version, "base": statement.excluded.base},
    )
    await session.execute(statement)
