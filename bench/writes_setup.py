"""bench.writes: the cache databases it writes to, the extra location and mappings, and the gateway process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select

from bench.report import describe_environment
from bench.servers import (
    CLIENT_CPU,
    REPO,
    SERVER_CPU,
    Server,
    bench_gateway_environment,
    free_port,
    pinning_works,
    wait_ready,
)
from devnet.demo.generator import load_demo_network
from sources.cache import migrate
from sources.cache.database import create_engine
from sources.cache.models import CustomerMapping, Location

POSTGRES_ADMIN_DSN = os.environ.get("GATEWAY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# The kinds whose connectors can write customers (Capability.WRITE_CUSTOMERS): a OneBooking website cannot.
WRITABLE_KINDS = ("bookingx", "platform", "pms")
ANNEX_SOURCE = "manchester-central"
ANNEX_ID = "manchester-annex"
SINGLE_LOCATION = "manchester-central"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@dataclass
class ThrowawayPostgres:
    """A database of its own on the machine's PostgreSQL, dropped afterwards."""

    name: str = field(default_factory=lambda: f"gateway_bench_{uuid.uuid4().hex[:12]}")

    @property
    def url(self) -> str:
        server = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{server}/{self.name}"

    def create(self) -> None:
        asyncio.run(_admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@contextmanager
def cache_database(backend: str, workdir: Path) -> Iterator[str]:
    """An empty cache database for one backend: a SQLite file in workdir, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'writes-cache.sqlite3'}"
        return
    database = ThrowawayPostgres()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def postgres_reachable() -> str | None:
    """None when the admin database answers, else why not."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    return None


@dataclass(frozen=True)
class PreparedCache:
    fan_out_customer: str
    fan_out_locations: tuple[str, ...]  # every writable location that knows the customer
    added_mappings: tuple[str, ...]  # where this bench gave it a mapping
    single_customer: str
    single_location: str
    booking_customers: dict[str, str]  # location -> a customer it knows, to book for


def _local_customer_id(kind: str, serial: int) -> str:
    # In each kind's own style (devnet/demo/ids.py), far from the demo's counters.
    if kind == "platform":
        return f"bksy_{uuid.uuid4().hex[:10]}"
    return f"C-{990_000 + serial}"


async def prepare_cache(database_url: str, booking_locations: Sequence[str]) -> PreparedCache:
    """Migrate, load the demo, add a sixth customer-writable location and map one customer at all six
    (the demo's five, its hotel included, and the annex).

    The gateway's simulators seed their stores from this cache on start, so every location will know
    the customer by the local id given here.
    """
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        await load_demo_network(engine)
        async with engine.begin() as connection:
            locations = Location.__table__
            source = (await connection.execute(select(locations).where(locations.c.id == ANNEX_SOURCE))).one()
            annex: dict[str, Any] = dict(source._mapping)
            annex.update(
                id=ANNEX_ID,
                name="Manchester Annex",
                latitude=source.latitude + 0.01,
                longitude=source.longitude + 0.01,
                base_url="http://127.0.0.1:9",  # the simulated network points it at its simulator
            )
            await connection.execute(insert(Location), [annex])
            kinds = {row.id: row.kind for row in await connection.execute(select(locations.c.id, locations.c.kind))}
            writable = sorted(location for location, kind in kinds.items() if kind in WRITABLE_KINDS)

            # The customer already known at the most writable locations: the fewest made-up mappings.
            count = func.count().label("n")
            customer = (
                await connection.execute(
                    select(CustomerMapping.customer_id, count)
                    .where(CustomerMapping.location_id.in_(writable))
                    .group_by(CustomerMapping.customer_id)
                    .order_by(count.desc(), CustomerMapping.customer_id)
                    .limit(1)
                )
            ).one()[0]
            known = set(
                (
                    await connection.execute(
                        select(CustomerMapping.location_id).where(CustomerMapping.customer_id == customer)
                    )
                ).scalars()
            )
            added = [location for location in writable if location not in known]
            await connection.execute(
                insert(CustomerMapping),
                [
                    {
                        "customer_id": customer,
                        "location_id": location,
                        "local_customer_id": _local_customer_id(kinds[location], serial),
                        "loyalty_points": 0,
                    }
                    for serial, location in enumerate(added, start=1)
                ],
            )

            # A customer whose only customer-writable location is SINGLE_LOCATION.
            single = (
                await connection.execute(
                    select(CustomerMapping.customer_id)
                    .where(CustomerMapping.location_id.in_(writable))
                    .group_by(CustomerMapping.customer_id)
                    .having(func.count() == 1, func.min(CustomerMapping.location_id) == SINGLE_LOCATION)
                    .order_by(CustomerMapping.customer_id)
                    .limit(1)
                )
            ).scalar_one()
            booking_customers = {
                location: (
                    await connection.execute(
                        select(func.min(CustomerMapping.customer_id)).where(CustomerMapping.location_id == location)
                    )
                ).scalar_one()
                for location in booking_locations
            }
        return PreparedCache(
            fan_out_customer=customer,
            fan_out_locations=tuple(writable),
            added_mappings=tuple(added),
            single_customer=single,
            single_location=SINGLE_LOCATION,
            booking_customers=booking_customers,
        )
    finally:
        await engine.dispose()


@contextmanager
def running_gateway(name: str, database_url: str, workdir: Path, pin: bool) -> Iterator[Server]:
    """The gateway with bench.writes_serve's control endpoints, as a uvicorn process (pinned when `pin`)."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "bench.writes_serve", "--database-url", database_url, "--port", str(port)]
    if pin:
        command += ["--cpu", str(SERVER_CPU)]
    credentials = workdir / f"{name}-credentials.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), **bench_gateway_environment(credentials)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(name, port, process, log_path, credentials)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def begin_run(backends: list[str]) -> bool:
    """Print the machine, pin this client to its CPU if it can, drop PostgreSQL if unreachable; whether pinned.

    SIGTERM unwinds like Ctrl-C, so the gateway is terminated and the throwaway database dropped.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(describe_environment())
    pin = pinning_works()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(
        f"gateway and its simulated locations on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}"
        if pin
        else "CPU pinning unavailable: gateway and client share the CPUs"
    )
    if "postgresql" in backends and (problem := postgres_reachable()) is not None:
        print(f"PostgreSQL skipped: {problem}")
        backends.remove("postgresql")
    return pin
