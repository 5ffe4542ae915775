"""Applying the cache's Alembic migrations, from the app's start-up or from the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every gateway process.
MIGRATION_LOCK_ID = 7_411_2026
VERSION_TABLE = "alembic_version"  # alembic's default (migrations/env.py keeps it)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Several replicas may start at once; only one migrates, the others wait and find it done.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    # Read alembic's version table directly: a MigrationContext logs two lines each time, and readiness is
    # asked every few seconds.
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    return tuple(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def head_revisions() -> frozenset[str]:
    """The newest revisions of the migrations shipped with this code (one, unless branches were left unmerged)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def current_heads(engine: AsyncEngine) -> frozenset[str]:
    """The revisions the database is at (none when it was never migrated)."""
    async with engine.connect() as connection:
        return frozenset(await connection.run_sync(_current_heads))
