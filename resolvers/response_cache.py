"""The response cache's store: answers to repeated queries, dropped whenever the cache database may have changed.

What a stored answer is keyed by (the request and the caller's visibility) and when one may be stored or served is
schema/response_cache.py's business; this module holds the entries and decides when they are void.

Invalidation is coarse on purpose: one generation number for the whole store. It moves on
- every commit on the app's engine that wrote something (SQLAlchemy events, so every writer is covered:
  mutations, pulls, webhooks, REST shims, outbox delivery, live refresh and its marks, heartbeats, locations
  joining at run time), once when the commit starts and once when its connection goes back to the pool (the
  commit is done by then). "Wrote": an INSERT, UPDATE or DELETE that touched a row, or any statement that is not
  one of those nor a SELECT (DDL, raw SQL: counted, to be safe). A transaction that changed no row (the outbox
  worker's every poll leases nothing most of the time) leaves the answers alone;
- every event on the bus, of any topic, from this process or (PostgreSQL) another one (the bus's observers);
- on PostgreSQL, a `cache.written` event this store publishes after local commits, so a write on another
  replica that publishes nothing still voids this replica's answers;
- every mutation this process completed (the schema's extension calls `invalidate` before the answer is sent).

An answer computed while the generation moved is not stored (`put` compares the generation taken before the
execution started), so an answer read before a write can never outlive it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.principal import Principal
from resolvers.context import FreshnessEntry, scope_of
from resolvers.permissions import Permission, granted
from resolvers.scope import RowScope
from settings import Settings
from subscriptions.bus import Event, EventBus
from subscriptions.postgres import PostgresEventBus
from sync.live.refresh import Source

logger = logging.getLogger(__name__)

# Published (PostgreSQL only) after local commits, so other replicas drop their answers too.
CACHE_WRITTEN = "cache.written"
# On a pooled connection's info: its transaction wrote (set per statement), then that it committed.
_WROTE = "gateway.response_cache.wrote"
_COMMITTED = "gateway.response_cache.committed"
# Visibilities remembered per principal; past this many the memo starts afresh (it is only a shortcut).
VISIBILITY_MEMO_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Visibility:
    """What decides a caller's answers: their rows and their permissions. Equal visibilities see equal answers."""

    scope: RowScope
    permissions: frozenset[Permission]


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """One stored answer, encoded: `parts` with the `ageSeconds` of `extensions.freshness` left out, one gap per
    `refreshed` time, filled on every hit with the age as of then (it grows)."""

    parts: tuple[bytes, ...]
    refreshed: tuple[datetime, ...]
    operation_name: str | None
    # When the oldest refreshable data in it passes the default max age: a cold answer would refresh live then.
    stale_at: datetime | None


class ResponseCache:
    """A bounded LRU of answers, void as a whole whenever the generation moves."""

    def __init__(self, max_entries: int, settings: Settings) -> None:
        self.max_entries = max_entries
        self.settings = settings
        self.generation = 0
        self.hits = self.misses = self.stores = 0
        self._entries: OrderedDict[Hashable, CachedAnswer] = OrderedDict()
        self._visibilities: dict[Principal, Visibility] = {}
        self._engine: AsyncEngine | None = None
        self._bus: EventBus | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._notify_pending = False
        self._notifications: set[asyncio.Task[None]] = set()

    # -- entries --------------------------------------------------------------------------------
    def get(self, key: Hashable) -> CachedAnswer | None:
        answer = self._entries.get(key)
        if answer is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: Hashable, generation: int, answer: CachedAnswer) -> bool:
        """Store the answer computed from the cache as it was at `generation`; not if anything changed since."""
        if generation != self.generation:
            return False
        self._entries[key] = answer
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        self.stores += 1
        return True

    def drop(self, key: Hashable) -> None:
        """Forget one answer (served no more: its data got older than the default max age)."""
        self._entries.pop(key, None)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def visibility(self, principal: Principal) -> Visibility:
        """The principal's row scope and granted permissions (resolvers/context.py, resolvers/permissions.py)."""
        found = self._visibilities.get(principal)
        if found is None:
            if len(self._visibilities) >= VISIBILITY_MEMO_SIZE:
                self._visibilities.clear()
            permissions = frozenset(p for p in Permission if granted(principal, p, self.settings))
            found = self._visibilities[principal] = Visibility(scope_of(principal), permissions)
        return found

    # -- what voids the entries -----------------------------------------------------------------
    def open(self, engine: AsyncEngine, bus: EventBus) -> None:
        """Listen to the engine's commits and to every topic of the bus (in the app's lifespan)."""
        self._engine, self._bus, self._loop = engine, bus, asyncio.get_running_loop()
        event.listen(engine.sync_engine, "after_cursor_execute", self._on_statement)
        event.listen(engine.sync_engine, "commit", self._on_commit)
        event.listen(engine.sync_engine, "rollback", self._on_rollback)
        event.listen(engine.sync_engine, "checkin", self._on_checkin)
        # Told as each event is published or arrives from another process: the entries go at once.
        bus.observe(self._on_event)

    def close(self) -> None:
        if self._engine is not None:
            event.remove(self._engine.sync_engine, "after_cursor_execute", self._on_statement)
            event.remove(self._engine.sync_engine, "commit", self._on_commit)
            event.remove(self._engine.sync_engine, "rollback", self._on_rollback)
            event.remove(self._engine.sync_engine, "checkin", self._on_checkin)
            self._engine = None
        self._bus = None  # the bus is closed next; what it still delivers voids nothing that is served
        for task in self._notifications:
            task.cancel()
        self.invalidate()

    def _on_event(self, _topic: str) -> None:
        self.invalidate()

    def _on_statement(
        self, connection: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
    ) -> None:
        if connection.info.get(_WROTE):
            return
        if context is not None and (context.isinsert or context.isupdate or context.isdelete):
            wrote = context.rowcount != 0  # -1 (unknown) counts as written
        else:
            wrote = statement.lstrip()[:6].upper() != "SELECT"
        if wrote:
            connection.info[_WROTE] = True

    def _on_commit(self, connection: Any) -> None:
        if connection.info.pop(_WROTE, False):
            self.invalidate()
            connection.info[_COMMITTED] = True

    def _on_rollback(self, connection: Any) -> None:
        connection.info.pop(_WROTE, None)  # nothing it wrote is there

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_WROTE, None)  # a read's connection is reset by the pool, not by a rollback event
        if not record.info.pop(_COMMITTED, False):
            return
        # The commit is complete now: an answer begun between the commit's start and its end read old rows.
        self.invalidate()
        if isinstance(self._bus, PostgresEventBus) and not self._notify_pending and self._loop is not None:
            self._notify_pending = True
            # Pool events may fire outside the loop's thread (a connection collected elsewhere); once per tick.
            try:
                self._loop.call_soon_threadsafe(self._notify_replicas)
            except RuntimeError:  # the loop is closed: the process is stopping, nobody is served from here
                self._notify_pending = False

    def _notify_replicas(self) -> None:
        self._notify_pending = False
        if self._bus is None:
            return
        task = asyncio.get_running_loop().create_task(self._bus.publish(Event(CACHE_WRITTEN, {})))
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)


def stale_at(entries: tuple[FreshnessEntry, ...], max_age_seconds: int) -> tuple[bool, datetime | None]:
    """Whether an answer with these freshness entries may be stored, and when it may no longer be served as it is
    (None: never, its data is all from locations never refreshed live). Not stored: some data came live
    (the refresh wrote the cache: the answer is older than the generation already) or its refresh failed (a
    cold answer would try again)."""
    until: datetime | None = None
    for entry in entries:
        report = entry.report
        if report.source is not Source.CACHE or report.error is not None:
            return False, None
        if report.cannot_refresh is not None:
            continue  # never refreshed live: how old it is grows, what it says does not change
        if report.refreshed_at is None:
            return False, None  # a cold answer would refresh it live
        bound = report.refreshed_at + timedelta(seconds=max_age_seconds)
        until = bound if until is None or bound < until else until
    return True, until


def open_response_cache(settings: Settings, engine: AsyncEngine, bus: EventBus) -> ResponseCache | None:
    """The app's response cache, listening already; None when the settings switch it off."""
    if not settings.response_cache:
        return None
    cache = ResponseCache(settings.response_cache_entries, settings)
    cache.open(engine, bus)
    return cache
