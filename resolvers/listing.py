"""Running a filtered, sorted list query as one page plus a lazily counted total."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.pagination import Page, PageArgs, SortOrder, build_page, paginate

if TYPE_CHECKING:
    # Only a type here: the loaders build ListResults, and the context builds the loaders.
    from resolvers.context import Context


@dataclass(slots=True)
class ListResult:
    """A page of rows; the total is only counted if the client asks for it."""

    page: Page
    counter: Callable[[], Awaitable[int]]

    async def total_count(self) -> int:
        return await self.counter()


def count_of(statement: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(statement.order_by(None).subquery())


def statement_counter(engine: AsyncEngine, statement: Select[Any]) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(count_of(statement))).scalar_one())

    return count


async def list_page(context: Context, statement: Select[Any], order: SortOrder, args: PageArgs) -> ListResult:
    settings = context.settings
    paged, size, backward = paginate(statement, order, args, settings.default_page_size, settings.max_page_size)
    async with context.engine.connect() as connection:
        rows = (await connection.execute(paged)).all()
    page = build_page(rows, order, args, size, backward)
    return ListResult(page=page, counter=statement_counter(context.engine, statement))
