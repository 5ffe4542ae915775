"""Migration 0009: weekday rules stored under the old input key `days` are renamed `weekdays`, so what a caller
meant before the rules bound is what binds now (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.database import create_engine
from sources.cache.migrate import alembic_config, upgrade
from sources.cache.models import Location, Resource, ResourceShare


def _location(location_id: str) -> Location:
    return Location(
        id=location_id,
        name=location_id.title(),
        kind="bookingx",
        base_url=f"http://{location_id}.invalid",
        town="Manchester",
        timezone="Europe/London",
        currency="GBP",
        latitude=53.48,
        longitude=-2.24,
    )


def _undo_sharing_weekdays(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0009-1")


async def _rules_after_migrating(url: str, stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with AsyncSession(engine) as session:
            session.add_all([_location("lender"), *(_location(borrower) for borrower in stored)])
            await session.flush()
            session.add(
                Resource(id="res_lent", location_id="lender", local_resource_id="S-1", kind="staff", name="Sam")
            )
            await session.flush()
            session.add_all(
                ResourceShare(resource_id="res_lent", location_id=borrower, rules=rules)
                for borrower, rules in stored.items()
            )
            await session.commit()
        async with engine.begin() as connection:
            await connection.run_sync(_undo_sharing_weekdays)
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = await connection.execute(select(ResourceShare.location_id, ResourceShare.rules))
            return {row.location_id: row.rules for row in rows}
    finally:
        await engine.dispose()


def test_a_weekday_rule_stored_as_days_is_renamed_weekdays_and_nothing_else_changes(own_database_url: str) -> None:
    stored: dict[str, dict[str, Any]] = {
        "old": {"days": [1, 2], "from": "09:00", "max_hours_per_week": 8},
        "both": {"days": [3], "weekdays": [4]},
        "new": {"weekdays": [5], "notes": "as written"},
        "none": {},
    }

    migrated = asyncio.run(_rules_after_migrating(own_database_url, stored))

    assert migrated == {
        "old": {"weekdays": [1, 2], "from": "09:00", "max_hours_per_week": 8},
        "both": {"weekdays": [4]},
        "new": {"weekdays": [5], "notes": "as written"},
        "none": {},
    }
