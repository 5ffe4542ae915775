"""The gateway for bench.writes: its simulated locations in the same process, plus control endpoints.

python -m bench.writes_serve --database-url sqlite+aiosqlite:///... --port 8123 --cpu 0

The simulators live in the gateway's event loop, so only this process can turn their knobs; the
benchmark does it over HTTP, through routes under /bench/ that never reach the gateway:

    POST /bench/latency    {"seconds": 0.1}                      every location answers that much later
    POST /bench/free-slot  {"location": "...", "days_ahead": 50}  {"service_id", "start_at", "resource_id"} free there
    POST /bench/free-slots {"location": "...", "days_ahead": 10, "count": 400}  {"slots": [...]} free and disjoint
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from devnet.simulators.network import SimulatedNetwork
from server import create_app
from settings import Settings
from sources.cache.models import Booking, Resource, Service
from sources.cache.vocabulary import ACTIVE_BOOKING_STATUSES

MAX_FREE_SLOT_DAYS = 28  # how far /bench/free-slots looks ahead for free slots
KEEP_ALIVE_S = 75  # longer than any pause of the benchmark: no request lands on a connection being closed


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def control_app(gateway: Starlette) -> Starlette:
    def simulators() -> SimulatedNetwork:
        network: SimulatedNetwork = gateway.state.simulators
        return network

    async def latency(request: Request) -> JSONResponse:
        seconds = float((await request.json())["seconds"])
        for simulated in simulators().locations.values():
            simulated.controls.latency_seconds = seconds
        return JSONResponse({location: seconds for location in simulators().locations})

    async def free_slot(request: Request) -> JSONResponse:
        """The first start the location's own system has free on a resource it owns, for one of its services."""
        body: dict[str, Any] = await request.json()
        location_id = str(body["location"])
        store = simulators().stores[location_id]
        engine: AsyncEngine = gateway.state.engine
        async with engine.connect() as connection:
            services = (
                await connection.execute(
                    select(Service.id, Service.local_service_id)
                    .where(Service.location_id == location_id, Service.is_active)
                    .order_by(Service.id)
                )
            ).all()
        first_day = (datetime.now(UTC) + timedelta(days=int(body["days_ahead"]))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for day in (first_day + timedelta(days=offset) for offset in range(7)):  # some days a site is closed
            for service in services:
                slots = store.free_slots(service.local_service_id, day, day + timedelta(days=1))
                for resource, start, end in slots:
                    if resource not in store.resources or not store.resources[resource].owned:
                        continue
                    async with engine.connect() as connection:
                        resource_id = await connection.scalar(
                            select(Resource.id).where(
                                Resource.location_id == location_id, Resource.local_resource_id == resource
                            )
                        )
                        # Free at the location and in the cache: the demo's pending bookings are the cache's alone.
                        taken = await connection.scalar(
                            select(Booking.id).where(
                                Booking.resource_id == resource_id,
                                Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                                Booking.start_at < end,
                                Booking.end_at > start,
                            )
                        )
                    if taken is None:
                        answer = {"service_id": service.id, "start_at": start.astimezone(UTC).isoformat()}
                        return JSONResponse({**answer, "resource_id": resource_id})
        return JSONResponse({"error": f"no free slot at {location_id}"}, status_code=404)

    async def free_slots(request: Request) -> JSONResponse:
        """Up to `count` slots free at the location and in the cache, none overlapping another on its resource.

        One service (the location's first active one with a free slot), day after day from `days_ahead`: every
        answer can be booked, all of them at once, so a throughput of bookings is not a throughput of refusals.
        """
        body: dict[str, Any] = await request.json()
        location_id, count = str(body["location"]), int(body["count"])
        store = simulators().stores[location_id]
        engine: AsyncEngine = gateway.state.engine
        first_day = (datetime.now(UTC) + timedelta(days=int(body["days_ahead"]))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        last_day = first_day + timedelta(days=MAX_FREE_SLOT_DAYS)
        async with engine.connect() as connection:
            services = (
                await connection.execute(
                    select(Service.id, Service.local_service_id)
                    .where(Service.location_id == location_id, Service.is_active)
                    .order_by(Service.id)
                )
            ).all()
            resource_ids = dict(
                (
                    await connection.execute(
                        select(Resource.local_resource_id, Resource.id).where(Resource.location_id == location_id)
                    )
                ).all()
            )
            # Taken in the cache (the demo's pending bookings are the cache's alone): resource -> [(start, end)].
            taken: dict[str, list[tuple[datetime, datetime]]] = {}
            for booked_resource, start, end in await connection.execute(
                select(Booking.resource_id, Booking.start_at, Booking.end_at).where(
                    Booking.resource_id.in_(list(resource_ids.values())),
                    Booking.status.in_(ACTIVE_BOOKING_STATUSES),
                    Booking.end_at > first_day,
                    Booking.start_at < last_day,
                )
            ):
                if booked_resource is not None:
                    taken.setdefault(booked_resource, []).append((as_utc(start), as_utc(end)))
        found: list[dict[str, str]] = []
        for service in services:
            for offset in range(MAX_FREE_SLOT_DAYS):
                day = first_day + timedelta(days=offset)
                for resource, start, end in store.free_slots(service.local_service_id, day, day + timedelta(days=1)):
                    resource_id = resource_ids.get(resource)
                    if resource_id is None or resource not in store.resources or not store.resources[resource].owned:
                        continue
                    busy = taken.setdefault(resource_id, [])
                    start, end = start.astimezone(UTC), end.astimezone(UTC)
                    if any(start < other_end and end > other_start for other_start, other_end in busy):
                        continue
                    busy.append((start, end))
                    found.append({"service_id": service.id, "resource_id": resource_id, "start_at": start.isoformat()})
                    if len(found) == count:
                        return JSONResponse({"slots": found})
            if found:
                break  # one service: its slots are the ones counted
        return JSONResponse({"slots": found})

    return Starlette(
        routes=[
            Route("/bench/latency", latency, methods=["POST"]),
            Route("/bench/free-slot", free_slot, methods=["POST"]),
            Route("/bench/free-slots", free_slots, methods=["POST"]),
        ]
    )


class WithControls:
    """/bench/* to the control routes, everything else (lifespan included) to the gateway."""

    def __init__(self, gateway: Starlette) -> None:
        self.gateway = gateway
        self.controls = control_app(gateway)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/bench/"):
            await self.controls(scope, receive, send)
        else:
            await self.gateway(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin the process (and its threads) to this core")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        # Before any thread exists, so aiosqlite's worker threads inherit the mask.
        os.sched_setaffinity(0, {args.cpu})
    # The cache was prepared by bench.writes (demo + extra location): not empty, so the demo is not reloaded.
    gateway = create_app(Settings(database_url=args.database_url, demo_network=True, graphiql=False, log_sql=False))
    uvicorn.run(
        WithControls(gateway),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
