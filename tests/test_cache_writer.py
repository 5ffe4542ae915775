"""Write transactions on PostgreSQL that run into each other are run again, whole, instead of failing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from conftest import ThrowawayPostgres
from sources.cache.database import create_engine
from sources.cache.writer import CacheWriter


@pytest_asyncio.fixture
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    database = ThrowawayPostgres()
    await asyncio.to_thread(database.create)
    engine = create_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)"))
            await connection.execute(text("INSERT INTO counters VALUES ('a', 0), ('b', 0)"))
        yield engine
    finally:
        await engine.dispose()
        await asyncio.to_thread(database.drop)


def crossing_work(
    first: str, second: str, both_hold: asyncio.Barrier, attempts: list[str]
) -> Callable[[AsyncSession], Awaitable[None]]:
    """Bump `first`, wait until the other transaction holds its first row too, then bump `second`."""

    async def work(session: AsyncSession) -> None:
        attempts.append(first)
        await session.execute(text("UPDATE counters SET value = value + 1 WHERE name = :n"), {"n": first})
        if len(attempts) <= 2:  # only the first round crosses: a second attempt goes straight through
            await both_hold.wait()
        await session.execute(text("UPDATE counters SET value = value + 1 WHERE name = :n"), {"n": second})

    return work


@pytest.mark.asyncio
async def test_two_writers_that_deadlock_both_land_once(postgres_engine: AsyncEngine) -> None:
    writer = CacheWriter(postgres_engine)
    both_hold = asyncio.Barrier(2)
    attempts: list[str] = []
    await asyncio.wait_for(
        asyncio.gather(
            writer.run(crossing_work("a", "b", both_hold, attempts), what="a then b"),
            writer.run(crossing_work("b", "a", both_hold, attempts), what="b then a"),
        ),
        timeout=60,
    )
    assert len(attempts) == 3  # PostgreSQL rolled one back; it ran again
    async with postgres_engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name, value FROM counters"))).all()
    values = {str(name): int(value) for name, value in rows}
    assert values == {"a": 2, "b": 2}  # each transaction's two updates, exactly once


@pytest.mark.asyncio
async def test_a_writer_that_fails_on_its_own_is_not_run_again(postgres_engine: AsyncEngine) -> None:
    writer = CacheWriter(postgres_engine)
    attempts: list[int] = []

    async def broken(session: AsyncSession) -> None:
        attempts.append(1)
        await session.execute(text("INSERT INTO counters VALUES ('a', 1)"))  # the key exists

    with pytest.raises(DBAPIError):
        await writer.run(broken, what="a duplicate")
    assert attempts == [1]
