"""The sync engine: delta pulls into the cache with conflict detection, as jobs, one per location at a time.

A job pulls each entity type it was asked for, in the configured priority order, page
by page from the stored cursor (a full reconciliation starts from nothing and then
removes what the location no longer has; so does a pull the location answers with its whole
list, as an API without a change feed for the type does). Each page is applied and its cursor moved in
one transaction. Changes to pass on to other locations are written to the outbox in that
same transaction; the worker is woken when the job has them. Every phase is published
as a `sync.job` event, every step is a sync log row. How long each job took, and every conflict an applied
batch detected (pulls, pushes, live reads alike: they all settle here), go to the app's metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from observability.background import pass_failed
from observability.metrics import Metrics
from sources.cache.leases import LeaseKeeper
from sources.cache.models import Location
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sources.connectors.base import Connector
from sources.connectors.errors import ConnectorError
from sources.connectors.records import Cursor, EntityType
from sources.connectors.registry import ConnectorRegistry
from subscriptions.bus import Event, EventBus
from sync.apply.batch import RuleBook
from sync.apply.pipeline import ApplyResult, ApplyRules, CursorAdvance, apply_location_changes
from sync.apply.registry import pulled
from sync.conflicts.resolve import resolve_conflict
from sync.conflicts.rollback import rollback_job
from sync.errors import NotPullable, SyncInProgress, UnknownLocation
from sync.events import CONFLICT
from sync.pull.cursors import load_cursor
from sync.pull.jobs import Counts, JobRun, SyncJobStore
from sync.pull.reconcile import remove_missing
from sync.types import ConflictChoice, RollbackReport

logger = logging.getLogger("gateway.sync")


class LeaseLost(Exception):
    """This process stalled past its job's lease and another took the job over: it stops, the other finishes."""


@dataclass(frozen=True, slots=True)
class SyncOptions:
    batch_size: int = 100
    priority: tuple[EntityType, ...] = tuple(EntityType)


class SyncEngine:
    def __init__(
        self,
        writer: CacheWriter,
        connectors: ConnectorRegistry,
        bus: EventBus,
        jobs: SyncJobStore,
        rule_book: RuleBook,
        options: SyncOptions,
        *,
        wake_outbox: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> None:
        self.writer = writer
        self.connectors = connectors
        self.bus = bus
        self.jobs = jobs
        self.rule_book = rule_book
        self.options = options
        self.wake_outbox = wake_outbox
        self.metrics = metrics or Metrics()
        self._running: dict[str, asyncio.Task[None]] = {}

    @property
    def rules(self) -> ApplyRules:
        """The rules now (the rule book's): each batch reads them once and applies them throughout."""
        return self.rule_book.current

    # -- what a location can be asked ------------------------------------------------------------
    def pullable(self, connector: Connector) -> list[EntityType]:
        return [kind for kind in self.options.priority if pulled(kind).reads in connector.capabilities]

    async def _connector(self, location_id: str) -> Connector:
        async with self.writer.engine.connect() as connection:
            exists = (await connection.execute(select(Location.id).where(Location.id == location_id))).scalar()
        if exists is None:
            raise UnknownLocation(f"no location {location_id}")
        connector = self.connectors.get(location_id)
        if connector is None:
            raise NotPullable(f"{location_id} has no connector")
        return connector

    # -- jobs ------------------------------------------------------------------------------------
    async def start_job(
        self,
        location_id: str,
        entity_types: Sequence[EntityType] | None = None,
        *,
        trigger: str = "manual",
        full: bool = False,
    ) -> str:
        """Create a running job for the location and run it in the background; returns the job id."""
        connector = await self._connector(location_id)
        supported = self.pullable(connector)
        if not supported:
            raise NotPullable(f"{location_id} pushes its changes to the gateway; there is nothing to pull")
        # Unnamed types mean everything this location can be asked for.
        wanted = [
            kind
            for kind in self.options.priority
            if (kind in supported if entity_types is None else kind in entity_types)
        ]
        if wanted and not any(kind in supported for kind in wanted):
            asked = ", ".join(kind.value for kind in wanted)
            raise NotPullable(f"{location_id} cannot be asked for {asked}")
        # Named types it cannot be asked for (a platform's stock) are skipped, each with a log saying why.
        run = await self.jobs.open(location_id, [kind.value for kind in wanted], trigger, full)
        if run.resumed:
            # A dead process's job, taken over: what it was asked for and has not finished.
            full = run.full
            wanted = [EntityType(kind) for kind in run.entity_types if kind not in run.done]
        task = asyncio.create_task(self._run(run, connector, wanted, full), name=f"background:sync:{location_id}")
        self._running[run.id] = task
        task.add_done_callback(lambda _: self._running.pop(run.id, None))
        return run.id

    async def wait_for(self, job_id: str, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Until a job this process started has ended (completed or failed)."""
        task = self._running.get(job_id)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), timeout)

    async def run_job(
        self, location_id: str, entity_types: Sequence[EntityType] | None = None, *, trigger: str, full: bool = False
    ) -> str | None:
        """Start a job and wait for it; None when the location already has one running."""
        try:
            job_id = await self.start_job(location_id, entity_types, trigger=trigger, full=full)
        except SyncInProgress:
            return None
        await self.wait_for(job_id)
        return job_id

    def request(self, location_id: str, trigger: str) -> None:
        """Pull from a location soon (it came back, or refused a write as stale); one job at a time."""

        async def pull() -> None:
            with contextlib.suppress(SyncInProgress, NotPullable, UnknownLocation):
                await self.run_job(location_id, trigger=trigger)
            self.wake_outbox()

        task = asyncio.create_task(pull(), name=f"background:sync-request:{location_id}")
        self._running[f"request:{location_id}:{id(task)}"] = task
        task.add_done_callback(lambda _: self._running.pop(f"request:{location_id}:{id(task)}", None))

    async def recover(self) -> list[str]:
        """Take over every job whose lease ran out (its process died) and finish it; the ids of those taken."""
        taken: list[str] = []
        for location_id in await self.jobs.expired():
            with contextlib.suppress(SyncInProgress, NotPullable, UnknownLocation):
                taken.append(await self.start_job(location_id, trigger="recovery"))
        return taken

    def watch_leases(self) -> None:
        """Without a scheduler, still take over jobs whose process died: look once per lease period."""

        async def watch() -> None:
            while True:
                await asyncio.sleep(self.jobs.lease.seconds)
                try:
                    await self.recover()
                except Exception:  # noqa: BLE001 - the database is down for a moment: the next round looks again
                    pass_failed(logger, "sync: recovering dead jobs failed")

        self._running["lease-watch"] = asyncio.create_task(watch(), name="background:sync-lease-watch")

    async def stop(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        for task in list(self._running.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, run: JobRun, connector: Connector, kinds: list[EntityType], full: bool) -> None:
        error: str | None = None
        began = time.perf_counter()
        lease = self.jobs.lease
        keeper = LeaseKeeper(lambda: self.jobs.renew(run), every=lease.renew_every, name=f"sync job {run.id}")
        try:
            async with keeper:
                for kind in kinds:
                    if kind not in self.pullable(connector):
                        can_not = pulled(kind).reads.value.replace("_", " ")
                        reason = f"{run.location_id} is not asked for {kind.value}: its API cannot {can_not}"

                        await self.jobs.skip(run, kind.value, "full" if full else "delta", reason)
                        continue
                    started = utc_now()
                    counts = Counts()
                    try:
                        await self._pull(run, connector, kind, full, counts, keeper)
                    except ConnectorError as failure:
                        error = f"{kind.value}: {failure.message}"
                        await self.jobs.step(run, kind.value, "full" if full else "delta", counts, started, error)
                        break
                    await self.jobs.step(run, kind.value, "full" if full else "delta", counts, started)
        except LeaseLost:
            error = "lease lost: another process took the job over"
        except asyncio.CancelledError:
            error = "cancelled: the gateway is stopping"
            raise
        except Exception as failure:
            logger.exception("sync job %s failed", run.id)
            error = f"internal error: {type(failure).__name__}"
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.jobs.close(run, error))
            outcome = "failed" if error else "completed"
            self.metrics.sync_job_duration.labels(run.location_id, outcome).observe(time.perf_counter() - began)

    async def _pull(
        self, run: JobRun, connector: Connector, kind: EntityType, full: bool, counts: Counts, keeper: LeaseKeeper
    ) -> None:
        location_id = connector.location_id
        cursor: Cursor | None = None
        if not full:
            async with self.writer.engine.connect() as connection:
                cursor = await load_cursor(connection, location_id, kind)
        entity = pulled(kind)
        seen: set[str] = set()
        complete = False  # the location answered with its whole list: what it left out is gone there
        while True:
            if keeper.lost.is_set():
                raise LeaseLost(run.id)
            page = await connector.pull_changes(kind, cursor, self.options.batch_size)
            mine = [record for record in page.records if isinstance(record, entity.remote_type)]
            seen.update(entity.key_of(record) for record in mine)
            counts.pulled += len(page.records)
            next_cursor = page.next_cursor or cursor
            last_page = not page.has_more or page.next_cursor is None or page.complete
            complete = complete or page.complete
            result = await apply_location_changes(
                self.writer,
                location_id,
                mine,
                rules=self.rules,
                job_id=run.id,
                advance=CursorAdvance(kind, next_cursor, full=full and last_page, pulled=len(page.records)),
            )
            await self._publish_applied(result, counts)
            if last_page:
                break
            cursor = next_cursor
        if full or complete:
            await self._publish_applied(await remove_missing(self.writer, location_id, kind, seen, run.id), counts)

    async def publish_applied(self, result: ApplyResult) -> None:
        """Publish what an applied batch changed and send on what it queued (live refresh uses this too)."""
        await self._publish_applied(result, Counts())

    async def _publish_applied(self, result: ApplyResult, counts: Counts) -> None:
        counts.applied += result.created + result.updated
        counts.deleted += result.deleted
        counts.conflicts += result.conflicts
        for topic, payload in result.events:
            if topic == CONFLICT and payload.get("phase") == "detected":
                location = str(payload.get("sourceLocationId") or "unknown")
                self.metrics.conflicts_detected.labels(location, str(payload.get("entityType"))).inc()
            await self.bus.publish(Event(topic, payload))
        if result.queued:
            self.wake_outbox()

    # -- conflicts and rollback ------------------------------------------------------------------
    async def resolve_conflict(
        self, conflict_id: str, *, choice: ConflictChoice | None, merged: dict[str, Any] | None, resolved_by: str
    ) -> None:
        result = await resolve_conflict(
            self.writer, self.rules, conflict_id, choice=choice, merged=merged, resolved_by=resolved_by
        )
        await self._publish_applied(result, Counts())

    async def rollback_job(self, job_id: str) -> RollbackReport:
        report, result, location_id = await rollback_job(self.writer, self.rules, job_id)
        await self._publish_applied(result, Counts())
        if not report.already_rolled_back:
            await self.jobs.rolled_back(job_id, location_id)
        return report
