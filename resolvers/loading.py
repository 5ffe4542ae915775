"""DataLoader base classes: batch every key asked for in one tick into one SQL statement.

Loaders are built per request (they cache), so nothing leaks between requests or principals, and
each one is built with the request's row scope: its batch statement applies its domain's clause
(`resolvers/scope.py`), so `node(id)` and every relation see exactly the rows a list would.
`peek` lets resolvers answer synchronously when a root resolver has already primed the loader
with what the selection needs, which avoids one asyncio task per list item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.scope import RowScope
from settings import Settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class Missing:
    """Marker: the loader has not loaded that key yet."""


MISSING = Missing()


class BatchLoader(DataLoader[K, V], Generic[K, V]):
    """Every loader is built the same way, by `Loaders.get`: (engine, settings, the request's scope)."""

    def __init__(self, engine: AsyncEngine, settings: Settings, scope: RowScope) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings
        self.scope = scope
        self._values: dict[K, V] = {}
        # Converted objects are immutable views of a row: one per key serves every parent that points at it.
        self._converted: dict[tuple[K, Callable[[Any], Any]], Any] = {}

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:
        values = await self.fetch(list(keys))
        for key, value in zip(keys, values, strict=True):
            self._values[key] = value
        return values

    async def fetch(self, keys: list[K]) -> list[V]:
        raise NotImplementedError

    def peek(self, key: K) -> V | Missing:
        return self._values.get(key, MISSING)

    def prime_many(self, items: Iterable[tuple[K, V]]) -> None:
        for key, value in items:
            if key not in self._values:
                self._values[key] = value
                self.prime(key, value)

    async def rows(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        async with self.engine.connect() as connection:
            result: Sequence[Row[Any]] = (await connection.execute(statement)).all()
            return result


class RowByKeyLoader(BatchLoader[str, Row[Any] | None]):
    """One row per key, or None when no row has it."""

    key_column: ColumnElement[Any]

    async def fetch(self, keys: list[str]) -> list[Row[Any] | None]:
        found = {row._mapping[str(self.key_column.key)]: row for row in await self.rows(self.query(keys))}
        return [found.get(key) for key in keys]

    def query(self, keys: list[str]) -> Select[Any]:
        raise NotImplementedError


class RowsByKeyLoader(BatchLoader[str, list[Row[Any]]]):
    """All rows per key (a one-to-many relation), in the order the query gives them."""

    key_name: str

    async def fetch(self, keys: list[str]) -> list[list[Row[Any]]]:
        grouped: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in await self.rows(self.query(keys)):
            grouped[row._mapping[self.key_name]].append(row)
        return [grouped.get(key, []) for key in keys]

    def query(self, keys: list[str]) -> Select[Any]:
        raise NotImplementedError


async def _converted(pending: Awaitable[T], convert: Callable[[T], V]) -> V:
    return convert(await pending)


def load_now(loader: BatchLoader[K, T], key: K, convert: Callable[[T], V]) -> V | Awaitable[V]:
    """The converted value right away if the loader has it, else an awaitable of it."""
    converted: V | None = loader._converted.get((key, convert))
    if converted is not None:
        return converted
    value = loader.peek(key)
    if isinstance(value, Missing):
        return _converted(loader.load(key), convert)
    converted = loader._converted[(key, convert)] = convert(value)
    return converted
