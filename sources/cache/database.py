"""Opening the cache database: one async engine per process, SQLite or PostgreSQL by URL."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while a writer holds the lock; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()
    # The compiled read path's cursors (resolvers/compiled/json_sql.py): base64url of the cursor's JSON, as
    # resolvers/pagination.py encodes it. Deterministic, so SQLite may evaluate it once per row.
    dbapi_connection.create_function("gateway_cursor", 1, cursor_of_json, deterministic=True)


def cursor_of_json(text: str | None) -> str | None:
    """base64url (unpadded) of a cursor's UTF-8 JSON text, re-written as json.dumps writes it when it escapes."""
    if text is None:
        return None
    if "\\" in text:  # an escape: SQLite and json.dumps write some differently
        text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine for the cache; for SQLite the file's folder is created if missing."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
