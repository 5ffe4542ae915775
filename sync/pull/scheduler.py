"""Scheduled pulls: each location at its frequency, with a full reconciliation now and then.

A location's `sync_settings.sync_frequency` (realtime|hourly|daily) overrides the
network default. The scheduler looks every tick for locations whose last job started
longer ago than their interval; the database's one-running-job rule keeps two gateway
processes from pulling one location at once (the loser just skips its turn). Each tick first takes
over the jobs whose lease ran out (their process died) and finishes them (trigger `recovery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select

from observability.background import pass_failed
from sources.cache.models import Location, SyncCursor, SyncJob
from sources.cache.types import utc_now
from sync.errors import SyncError
from sync.pull.engine import SyncEngine

logger = logging.getLogger("gateway.sync")


class SyncScheduler:
    def __init__(
        self,
        engine: SyncEngine,
        *,
        default_frequency: str,
        realtime_seconds: float,
        full_every: timedelta,
        tick_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.default_frequency = default_frequency
        self.intervals = {
            "realtime": timedelta(seconds=realtime_seconds),
            "hourly": timedelta(hours=1),
            "daily": timedelta(days=1),
        }
        self.full_every = full_every
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background:sync-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def interval_of(self, sync_settings: dict[str, object] | None) -> timedelta:
        frequency = str((sync_settings or {}).get("sync_frequency") or self.default_frequency)
        return self.intervals.get(frequency, self.intervals[self.default_frequency])

    async def due(self, now: datetime) -> list[tuple[str, bool]]:
        """(location, full?) for every pullable location whose turn it is."""
        engine = self.engine.writer.engine
        async with engine.connect() as connection:
            # A retired location is no longer pulled (it has no connector either).
            active = Location.retired_at.is_(None)
            locations = (await connection.execute(select(Location.id, Location.sync_settings).where(active))).all()
            last_started = dict(
                (
                    await connection.execute(
                        select(SyncJob.location_id, func.max(SyncJob.started_at)).group_by(SyncJob.location_id)
                    )
                ).all()
            )
            last_full = dict(
                (
                    await connection.execute(
                        select(SyncCursor.location_id, func.min(SyncCursor.full_synced_at)).group_by(
                            SyncCursor.location_id
                        )
                    )
                ).all()
            )
        due: list[tuple[str, bool]] = []
        for location_id, sync_settings in locations:
            connector = self.engine.connectors.get(location_id)
            if connector is None or not self.engine.pullable(connector):
                continue
            started = last_started.get(location_id)
            if started is not None and now - started < self.interval_of(sync_settings):
                continue
            full_at = last_full.get(location_id)
            due.append((location_id, full_at is None or now - full_at >= self.full_every))
        return due

    async def run_due(self) -> None:
        # First the jobs of processes that died (their leases ran out), finished from their cursors.
        await self.engine.recover()
        for location_id, full in await self.due(utc_now()):
            with contextlib.suppress(SyncError):
                await self.engine.start_job(location_id, trigger="scheduled", full=full)

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:  # noqa: BLE001 - pass_failed logs it
                pass_failed(logger, "sync scheduling pass failed")
            await asyncio.sleep(self.tick_seconds)
