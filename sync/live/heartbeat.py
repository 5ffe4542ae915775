"""Asking every location how it is, and keeping its status (online, degraded, offline) in the cache."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import select, update

from observability.background import pass_failed
from sources.cache.models import Location, OutboxMessage
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sources.connectors.base import Connector
from sources.connectors.errors import ConnectorError
from sources.connectors.registry import ConnectorRegistry
from subscriptions.bus import Event, EventBus
from sync.events import location_status_event
from sync.outbox.queue import PENDING

logger = logging.getLogger("gateway.heartbeat")


class HeartbeatMonitor:
    def __init__(
        self,
        writer: CacheWriter,
        connectors: ConnectorRegistry,
        bus: EventBus,
        *,
        interval_seconds: float,
        on_back_online: Callable[[list[str]], None],
    ) -> None:
        self.writer = writer
        self.connectors = connectors
        self.bus = bus
        self.interval_seconds = interval_seconds
        self.on_back_online = on_back_online
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background:heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _probe(self, connector: Connector) -> tuple[str, str, str | None]:
        try:
            health = await connector.check_health()
        except ConnectorError as error:
            return connector.location_id, "offline", error.message
        return connector.location_id, health.status, health.version

    async def check_all(self) -> dict[str, str]:
        """Probe every location in parallel; returns the status of each."""
        results = await asyncio.gather(*(self._probe(connector) for connector in self.connectors.all()))
        now = utc_now()
        changed: list[tuple[str, str, str]] = []
        async with self.writer.transaction() as session:
            current = dict((await session.execute(select(Location.id, Location.status))).all())
            for location_id, status, detail in results:
                values: dict[str, object] = {"status": status}
                if status != "offline":
                    values["last_heartbeat_at"] = now
                    if detail:
                        values["version"] = detail
                await session.execute(update(Location).where(Location.id == location_id).values(**values))
                previous = current.get(location_id)
                if previous != status:
                    changed.append((location_id, previous or "unknown", status))
                if previous == "offline" and status != "offline":
                    # Whatever waited for this location may go now rather than after its backoff.
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.location_id == location_id, OutboxMessage.status == PENDING)
                        .values(next_attempt_at=now)
                    )
        for location_id, previous, status in changed:
            logger.info("location %s: %s -> %s", location_id, previous, status)
            await self.bus.publish(Event(*location_status_event(location_id, previous, status)))
        back = [location_id for location_id, previous, status in changed if previous == "offline"]
        if back:
            self.on_back_online(back)
        return {location_id: status for location_id, status, _ in results}

    async def _run(self) -> None:
        while True:
            try:
                await self.check_all()
            except Exception:  # noqa: BLE001 - pass_failed logs it
                pass_failed(logger, "heartbeat pass failed")
            await asyncio.sleep(self.interval_seconds)
