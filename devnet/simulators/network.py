"""The demo network as live simulated locations: one real HTTP app per location, seeded from the cache."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from devnet.simulators.bookingx import bookingx_app, bookingx_local_ids
from devnet.simulators.onebooking import onebooking_app, onebooking_local_ids
from devnet.simulators.platform import platform_app, platform_local_ids
from devnet.simulators.pms import pms_app, pms_local_ids
from devnet.simulators.seed import seed_store
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from sources.cache.models import Location
from sources.cache.writer import CacheWriter
from sources.connectors.records import Cursor, EntityType
from sources.network.credentials import CredentialStore
from sync.pull.baseline import HeldRecord, record_baseline

logger = logging.getLogger("gateway.simulators")


def _seed_of(location_id: str) -> int:
    return int.from_bytes(hashlib.sha256(location_id.encode()).digest()[:4], "big")


LOCAL_IDS: dict[str, Callable[[int], Callable[[str], str]]] = {
    "bookingx": bookingx_local_ids,
    "platform": platform_local_ids,
    "onebooking": onebooking_local_ids,
    "pms": pms_local_ids,
}


def baseline_of(store: LocationStore) -> dict[str, Any]:
    """What the store holds, as the sync engine's baseline: records at their versions, cursors at the newest."""

    def newest(records: list[tuple[datetime, str]]) -> Cursor | None:
        return Cursor(*max(records)) if records else None

    # Called at start-up, before the store's HTTP app takes requests: nothing else touches it yet.
    customers = [HeldRecord(c.local_id, c.version, c.updated_at) for c in store.customers.values()]
    bookings = [HeldRecord(b.local_id, b.version, b.updated_at) for b in store.bookings.values()]
    cursors = {
        EntityType.CUSTOMERS: newest([(c.changed_at, c.local_id) for c in customers]),
        EntityType.SERVICES: newest([(s.updated_at, s.local_id) for s in store.services.values()]),
        EntityType.BOOKINGS: newest([(b.changed_at, b.local_id) for b in bookings]),
        EntityType.RESOURCES: newest([(r.updated_at, r.local_id) for r in store.resources.values()]),
        EntityType.INVENTORY: newest([(s.updated_at, s.sku) for s in store.stock.values()]),
    }
    return {"customers": customers, "bookings": bookings, "cursors": cursors}


def simulator_app(location: Any, store: LocationStore, credentials: Mapping[str, str]) -> ASGIApp:
    """The app speaking this kind of location's own API over its store, accepting the location's credentials
    (as the credential store holds them for the gateway's connector)."""
    if location.kind == "bookingx":
        return bookingx_app(
            store, node_id=location.id, api_key=credentials["api_key"], api_secret=credentials["api_secret"]
        )
    if location.kind == "platform":
        return platform_app(store, client_id=credentials["client_id"], client_secret=credentials["client_secret"])
    if location.kind == "onebooking":
        return onebooking_app(store, webhook_secret=credentials["webhook_secret"])
    # The PMS signs its own session tokens: a secret of the simulator's, which the gateway never needs.
    return pms_app(store, hotel_id=location.id, api_key=credentials["api_key"], jwt_secret=secrets.token_urlsafe(32))


class SimulatedNetwork:
    """Every location in the cache served as a simulator; the cache's base URLs point at them."""

    def __init__(self) -> None:
        self.locations: dict[str, SimulatedLocation] = {}
        self.stores: dict[str, LocationStore] = {}

    async def start(
        self, engine: AsyncEngine, credentials: CredentialStore, *, ports: dict[str, int] | None = None
    ) -> None:
        """Serve every location that is not retired, with the credentials the store holds for it."""
        held = await credentials.current_of_active()
        async with engine.connect() as connection:
            rows = (
                await connection.execute(select(Location).where(Location.retired_at.is_(None)).order_by(Location.id))
            ).all()
        for location in rows:
            store = await seed_store(engine, location.id, LOCAL_IDS[location.kind](_seed_of(location.id)))
            app = simulator_app(location, store, held.get(location.id, {}))
            simulated = SimulatedLocation(location.id, app, port=(ports or {}).get(location.id, 0))
            await simulated.start()
            self.locations[location.id] = simulated
            self.stores[location.id] = store
        async with engine.begin() as connection:
            for location_id, simulated in self.locations.items():
                await connection.execute(
                    update(Location).where(Location.id == location_id).values(base_url=simulated.url)
                )
        logger.info("simulated locations: %s", {key: sim.url for key, sim in self.locations.items()})

    async def record_baselines(self, writer: CacheWriter) -> None:
        """Each store was just seeded from the cache: record that they agree, at the stores' versions."""
        for location_id, store in self.stores.items():
            await record_baseline(writer, location_id, **baseline_of(store))

    async def stop(self) -> None:
        # Together: each server notices its exit flag on its own 0.1 s tick, so one after another adds up.
        await asyncio.gather(*(simulated.stop() for simulated in self.locations.values()))
