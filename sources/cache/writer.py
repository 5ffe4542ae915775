"""Write transactions on the cache, one way for every writer (mutations, outbox, refresh, pushes).

SQLite allows one writer at a time, and a transaction that reads before it writes
fails at once (instead of waiting) when another writer got in first. So on SQLite
the gateway queues its own writers in-process behind one lock: the embedded cache
belongs to one gateway process. On PostgreSQL transactions run concurrently and rows
are locked where a rule needs it (`locks_rows`: SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sources.cache.database import is_sqlite


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
