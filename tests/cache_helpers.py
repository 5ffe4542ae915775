"""Reading the gateway's cache from a test: each statement run on the gateway's own loop, over its own engine
(the one the app writes through), so what a request just committed is what the test reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Executable

from conftest import RunningGateway


def rows(gateway: RunningGateway, statement: Executable) -> list[Any]:
    async def read() -> list[Any]:
        async with gateway.engine.connect() as connection:
            return list((await connection.execute(statement)).all())

    return gateway.run(read())


def scalar(gateway: RunningGateway, statement: Executable) -> Any:
    """The first column of the first row (None: no row)."""

    async def read() -> Any:
        async with gateway.engine.connect() as connection:
            return await connection.scalar(statement)

    return gateway.run(read())


def scalars(gateway: RunningGateway, statement: Executable) -> list[Any]:
    async def read() -> list[Any]:
        async with gateway.engine.connect() as connection:
            return list((await connection.scalars(statement)).all())

    return gateway.run(read())


def count(gateway: RunningGateway, model: Any, *where: Any) -> int:
    """How many rows of `model` match every one of `where`."""
    return int(scalar(gateway, select(func.count()).select_from(model).where(*where)) or 0)
