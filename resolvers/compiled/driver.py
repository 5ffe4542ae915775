"""One compiled statement straight through the driver, as SQLAlchemy's listeners still see it.

The compiled read path's statement is one SELECT of text the driver runs as it is. Through SQLAlchemy's
aiosqlite adapter that is four hops to the driver's thread (cursor, execute, fetch, close: ~0.7 ms of the
dashboard's ~2 ms); `execute_fetchall` is one, on a connection of sources/cache/single_reads.py. PostgreSQL's
asyncpg answers `fetchrow` in one round trip and no transaction (a single SELECT needs none). The engine's
`before/after_cursor_execute` listeners (statement counts in tests, OpenTelemetry's SQL spans) are called
around it as SQLAlchemy would call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sources.cache.single_reads import SqliteSingleReads


async def fetch_row(
    single_reads: SqliteSingleReads | None, engine: AsyncEngine, sql: str, parameters: tuple[Any, ...]
) -> Sequence[Any]:
    """The statement's one row, on a connection of `single_reads` (SQLite) or else of `engine`, whose listeners
    hear it either way."""
    listened = engine.sync_engine
    # What listeners read of a Connection and an ExecutionContext: the engine, a per-connection info dict, the
    # kind of statement (a SELECT), and room for their own state (OpenTelemetry keeps its span there).
    connection = SimpleNamespace(engine=listened, dialect=listened.dialect, info={})
    note = SimpleNamespace(isinsert=False, isupdate=False, isdelete=False, rowcount=-1)
    for listener in listened.dispatch.before_cursor_execute:
        sql, parameters = listener(connection, None, sql, parameters, note, False)
    if single_reads is not None:
        row = await single_reads.fetch_row(sql, parameters)
    else:
        async with engine.connect() as pooled:
            driver: Any = (await pooled.get_raw_connection()).driver_connection
            if engine.dialect.name == "postgresql":
                row = await driver.fetchrow(sql, *parameters)
            else:
                row = (await driver.execute_fetchall(sql, parameters))[0]
    for after in listened.dispatch.after_cursor_execute:
        after(connection, None, sql, parameters, note, False)
    return row
