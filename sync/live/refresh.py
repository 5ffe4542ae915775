"""Cache plus live: bring a location's data up to a freshness bound before a query answers.

Each (location, kind of data) has a mark: when it was last refreshed live. A query
with `maxAge` refreshes the marks older than that, every location in parallel, one
refresh in flight per mark however many queries ask. A location that cannot be asked,
or does not answer within the refresh's one deadline, keeps its cached data and the report
says what failed, so the response can tell the client where its answer came from and how old it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sources.cache.models import RefreshMark
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sources.connectors.base import Capability, Connector
from sources.connectors.errors import ConnectorError
from sources.connectors.registry import ConnectorRegistry
from sync.apply.batch import RuleBook
from sync.apply.pipeline import ApplyResult, apply_location_changes

logger = logging.getLogger("gateway.refresh")
# A change stamped just before our last pull may have been committed after it: look back a little.
CLOCK_SKEW = timedelta(seconds=5)


class RefreshScope(StrEnum):
    BOOKINGS_AND_CUSTOMERS = "bookings"  # bookings with the customers they name: one refresh brings both
    STOCK = "stock"


NEEDS = {RefreshScope.BOOKINGS_AND_CUSTOMERS: Capability.READ_BOOKINGS, RefreshScope.STOCK: Capability.READ_STOCK}

# Why a location's data of a kind is never refreshed live, whatever the bound: its cached data is all there is.
CANNOT_ASK = {
    RefreshScope.BOOKINGS_AND_CUSTOMERS: "push-only: the location pushes its changes; it cannot be asked",
    RefreshScope.STOCK: "no stock to read: the location's system keeps none the gateway can ask for",
}
NO_CONNECTOR = "not connected: the gateway holds no connector for this location (retired, or left out of the network)"


class Source(StrEnum):
    CACHE = "cache"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class Freshness:
    location_id: str
    kind: RefreshScope
    source: Source
    refreshed_at: datetime | None
    error: str | None = None  # a refresh was tried and failed (or missed the deadline)
    cannot_refresh: str | None = None  # none is ever tried: why (CANNOT_ASK, NO_CONNECTOR)

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.refreshed_at is None else max((now - self.refreshed_at).total_seconds(), 0.0)


class Refresher:
    def __init__(
        self,
        writer: CacheWriter,
        connectors: ConnectorRegistry,
        *,
        rule_book: RuleBook,
        on_applied: Callable[[ApplyResult], Awaitable[None]] | None = None,
        deadline_seconds: float = 3.0,
    ) -> None:
        self.writer = writer
        # How long a read waits for the whole refresh, every location and every retry included.
        self.deadline_seconds = deadline_seconds
        self.connectors = connectors
        # The sync engine's rule book: a change a read brings in is checked for conflicts and passed on alike.
        self.rule_book = rule_book
        self.on_applied = on_applied
        self._marks: dict[tuple[str, RefreshScope], datetime] = {}
        self._in_flight: dict[tuple[str, RefreshScope], asyncio.Task[Freshness]] = {}

    async def load_marks(self) -> None:
        async with self.writer.engine.connect() as connection:
            rows = await connection.execute(
                select(RefreshMark.location_id, RefreshMark.entity_type, RefreshMark.refreshed_at)
            )
            for location_id, kind, refreshed_at in rows:
                if refreshed_at is not None and kind in RefreshScope.__members__.values():
                    self._marks[(location_id, RefreshScope(kind))] = refreshed_at

    async def mark_all_fresh(self, location_ids: Sequence[str]) -> None:
        """The cache and the locations were just made to agree (simulators seeded from it)."""
        now = utc_now()
        for location_id in location_ids:
            for kind in RefreshScope:
                self._marks[(location_id, kind)] = now
        await self._store_marks(
            [(location_id, kind, now, None) for location_id in location_ids for kind in RefreshScope]
        )

    def mark(self, location_id: str, kind: RefreshScope) -> datetime | None:
        return self._marks.get((location_id, kind))

    async def ensure_fresh(
        self, location_ids: Sequence[str], kinds: Sequence[RefreshScope], max_age_seconds: float
    ) -> list[Freshness]:
        now = utc_now()
        bound = now - timedelta(seconds=max_age_seconds)
        tasks: dict[asyncio.Task[Freshness], tuple[str, RefreshScope]] = {}
        reports: list[Freshness] = []
        for location_id in location_ids:
            connector = self.connectors.get(location_id)
            for kind in kinds:
                refreshed_at = self._marks.get((location_id, kind))
                # Checked before the bound: such a location's cache is never "fresh enough", it is all there is.
                if connector is None or NEEDS[kind] not in connector.capabilities:
                    why = NO_CONNECTOR if connector is None else CANNOT_ASK[kind]
                    reports.append(Freshness(location_id, kind, Source.CACHE, refreshed_at, cannot_refresh=why))
                elif refreshed_at is not None and refreshed_at >= bound:
                    reports.append(Freshness(location_id, kind, Source.CACHE, refreshed_at))
                else:
                    tasks[self._refresh_once(connector, kind)] = (location_id, kind)
        if not tasks:
            return reports
        # One deadline for the whole refresh: a slow location's answer (or its retries) never holds the read
        # past it. What missed it is served from cache and named; its refresh goes on in the background (the
        # next read finds it done, or joins it: one in flight per mark).
        done, late = await asyncio.wait(tasks, timeout=self.deadline_seconds)
        for task in tasks:
            if task in done:
                reports.append(task.result())
                continue
            location_id, kind = tasks[task]
            missed = f"no answer within the live refresh deadline ({self.deadline_seconds:g} s)"
            reports.append(Freshness(location_id, kind, Source.CACHE, self._marks.get((location_id, kind)), missed))
        logger.debug("live refresh: %d of %d missed the deadline", len(late), len(tasks))
        return reports

    def _refresh_once(self, connector: Connector, kind: RefreshScope) -> asyncio.Task[Freshness]:
        key = (connector.location_id, kind)
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(connector, kind))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return task

    async def _refresh(self, connector: Connector, kind: RefreshScope) -> Freshness:
        location_id = connector.location_id
        previous = self._marks.get((location_id, kind))
        started = utc_now()
        since = previous - CLOCK_SKEW if previous is not None else None
        try:
            if kind is RefreshScope.BOOKINGS_AND_CUSTOMERS:
                customers, bookings = await asyncio.gather(
                    connector.list_customers(since), connector.list_bookings(since)
                )
                result = await apply_location_changes(
                    self.writer,
                    location_id,
                    customers=customers,
                    bookings=bookings,
                    rules=self.rule_book.current,
                )
            else:
                stock = await connector.list_stock()
                result = await apply_location_changes(
                    self.writer,
                    location_id,
                    stock=stock,
                    rules=self.rule_book.current,
                )
        except ConnectorError as error:
            await self._store_marks([(location_id, kind, previous, error.message)], attempted_at=started)
            return Freshness(location_id, kind, Source.CACHE, previous, error.message)
        self._marks[(location_id, kind)] = started
        await self._store_marks([(location_id, kind, started, None)], attempted_at=started)
        if self.on_applied is not None:
            await self.on_applied(result)
        return Freshness(location_id, kind, Source.LIVE, started)

    async def _store_marks(
        self,
        marks: Sequence[tuple[str, RefreshScope, datetime | None, str | None]],
        attempted_at: datetime | None = None,
    ) -> None:
        if not marks:
            return
        rows = [
            {
                "location_id": location_id,
                "entity_type": kind.value,
                "refreshed_at": refreshed_at,
                "attempted_at": attempted_at or refreshed_at,
                "last_error": error,
            }
            for location_id, kind, refreshed_at, error in marks
        ]
        async with self.writer.transaction() as session:
            dialect = self.writer.engine.dialect.name
            statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(RefreshMark).values(rows)
            statement = statement.on_conflict_do_update(
                index_elements=["location_id", "entity_type"],
                set_={
                    "refreshed_at": statement.excluded.refreshed_at,
                    "attempted_at": statement.excluded.attempted_at,
                    "last_error": statement.excluded.last_error,
                },
            )
            await session.execute(statement)
