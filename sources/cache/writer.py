"""Write transactions on the cache, one way for every writer (mutations, outbox, refresh, pushes).

SQLite allows one writer at a time, and a transaction that reads before it writes
fails at once (instead of waiting) when another writer got in first. So on SQLite
the gateway queues its own writers in-process behind one lock: the embedded cache
belongs to one gateway process. On PostgreSQL transactions run concurrently and rows
are locked where a rule needs it (`locks_rows`: SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sources.cache.database import is_sqlite

T = TypeVar("T")
logger = logging.getLogger(__name__)

# PostgreSQL's answers to transactions that ran into each other: deadlock_detected, serialization_failure.
# The transaction was rolled back whole, so running it again is safe.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
TRANSACTION_ATTEMPTS = 4


def ran_into_another(error: DBAPIError) -> bool:
    """The database rolled this transaction back because of a concurrent one (retry it), not because of it."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class CacheWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.serialised = is_sqlite(engine.url.render_as_string())
        self._lock = asyncio.Lock()

    @property
    def locks_rows(self) -> bool:
        """Whether competing claims must lock rows (PostgreSQL); SQLite writers are queued already."""
        return not self.serialised

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a write transaction: committed on exit, rolled back on error."""
        if self.serialised:
            await self._lock.acquire()
        try:
            async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            if self.serialised:
                self._lock.release()

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]], *, what: str) -> T:
        """`work` in a write transaction, run again (up to TRANSACTION_ATTEMPTS times) when PostgreSQL rolled it
        back for a deadlock or a serialization failure with another writer; `work` must start from nothing
        each time (everything it did was rolled back)."""
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                async with self.transaction() as session:
                    return await work(session)
            except DBAPIError as error:
                if attempt == TRANSACTION_ATTEMPTS or not ran_into_another(error):
                    raise
                logger.info(
                    "%s ran into a concurrent writer (attempt %d); running it again: %s",
                    what,
                    attempt,
                    _collision(error),
                )
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")


def _collision(error: DBAPIError) -> str:
    """What the database said it collided on: its message and, from asyncpg, the detail naming the rows."""
    cause = error.orig.__cause__ if error.orig is not None else None
    detail = getattr(cause, "detail", None)
    text = f"{error.orig}: {detail}" if detail else str(error.orig)
    return text.replace("\n", " ")[:1000]
