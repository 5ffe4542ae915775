"""A pool of aiosqlite connections for lone SELECTs: the compiled read path's, on SQLite.

Checking a connection out of SQLAlchemy's async pool and back in is three greenlet switches and the pool's
bookkeeping (~0.2 ms of the dashboard query's ~2 ms). These connections only ever run one SELECT outside a
transaction, so they need none of it: a stack of idle connections, at most `size` open, callers beyond that
waiting their turn. They are set up as the engine's are (sources/cache/database.py): the busy timeout and the
`gateway_cursor` function. A connection whose statement failed or was cancelled is closed, never reused.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

from sources.cache.database import BUSY_TIMEOUT_MS, cursor_of_json, is_sqlite


class SqliteSingleReads:
    def __init__(self, database: str, *, size: int) -> None:
        self._database = database
        self._size = size
        self._idle: list[aiosqlite.Connection] = []
        self._turns = asyncio.Semaphore(size)
        self._closed = False

    @classmethod
    def for_url(cls, url: str, *, size: int) -> SqliteSingleReads | None:
        """For a SQLite file named by a plain URL; None otherwise (in-memory databases and URL options stay with
        the engine, which knows them)."""
        if not is_sqlite(url):
            return None
        parsed = make_url(url)
        if not parsed.database or parsed.database == ":memory:" or parsed.query:
            return None
        return cls(parsed.database, size=size)

    async def fetch_row(self, sql: str, parameters: Sequence[Any]) -> Sequence[Any]:
        """The statement's first row."""
        async with self._turns:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                rows = await connection.execute_fetchall(sql, parameters)
            except BaseException:
                self._discard(connection)
                raise
            if self._closed:
                self._discard(connection)
            else:
                self._idle.append(connection)
        row: Sequence[Any] = next(iter(rows))
        return row

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self._database)
        try:
            await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await connection.create_function("gateway_cursor", 1, cursor_of_json, deterministic=True)
        except BaseException:
            self._discard(connection)
            raise
        return connection

    def _discard(self, connection: aiosqlite.Connection) -> None:
        # stop(): the worker thread closes the sqlite3 connection after what it is running and ends.
        with suppress(sqlite3.Error, RuntimeError):
            connection.stop()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            with suppress(sqlite3.Error):
                await connection.close()
