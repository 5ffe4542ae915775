"""`kill -9` a gateway process mid-mutation and mid-sync, start it again: nothing stuck, lost or applied twice.

The location is a simulator served from this test process (it outlives the gateway), named by a network
file; the gateway is `python server.py` of its own, on a SQLite file and on PostgreSQL. Leases are short
(settings), so the restarted process takes the dead one's claims over within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from network_helpers import LONG_AGO, Site, build_store, credentials_for, env_name, location_toml
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conftest import REPO, cli_token
from devnet.simulators.bookingx import bookingx_app
from devnet.simulators.server import SimulatedLocation, SimulatorThread
from devnet.simulators.store_records import StoredCustomer
from sources.cache.database import create_engine
from sources.cache.models import Booking, ChangeLogEntry, CustomerMapping, IdempotencyRecord, SyncJob, SyncLog

HUB = "dublin-docks"
CREATE_BOOKING = """mutation($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } outcomes { status } errors { code message retryAfter } } }"""
TRIGGER_SYNC = """mutation($input: TriggerSyncInput!) {
  triggerSync(input: $input) { errors { code message } syncJob { id status } } }"""
CATALOGUE = """query($id: ID!) { location(id: $id) { services { id } resources { id name } } }"""
CUSTOMERS = """{ customers(first: 5) { nodes { id } } }"""
START = "2031-03-04T11:00:00+00:00"  # a Tuesday, inside the site's hours; its one booking is at 10:00 on R-1
LEASES = {
    "GATEWAY_IDEMPOTENCY_LEASE_SECONDS": "1",
    "GATEWAY_SYNC_JOB_LEASE_SECONDS": "2",
    "GATEWAY_SYNC_JOB_LEASE_RENEW_SECONDS": "0.5",
}


class Stalling:
    """ASGI middleware: the location does the work, then holds its answer (`hold_seconds`) on matching requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hold_seconds = 0.0
        self.method = "POST"
        self.path_part = "/bookings"
        self.before = False  # hold before doing the work (a slow location) instead of after (a lost answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matching = scope["type"] == "http" and scope["method"] == self.method and self.path_part in scope["path"]
        if not matching or self.hold_seconds <= 0:
            await self.app(scope, receive, send)
            return
        if self.before:
            await asyncio.sleep(self.hold_seconds)
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def keep(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        await asyncio.sleep(self.hold_seconds)
        for message in held:
            await send(message)


@dataclass
class Network:
    site: Site
    stalling: Stalling
    file: Path
    folder: Path
    # Every gateway process started against this network: one a failed test left running is killed at the end.
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


@pytest.fixture(scope="module")
def network(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """A location of its own per backend: a booking one backend's test made there must not take the other's slot."""
    thread = SimulatorThread()
    store = build_store(HUB, "bookingx")
    credentials = credentials_for(HUB, "bookingx")
    stalling = Stalling(
        bookingx_app(store, node_id=HUB, api_key=credentials["api_key"], api_secret=credentials["api_secret"])
    )
    location = SimulatedLocation(HUB, stalling)
    thread.run(location.start())
    site = Site(HUB, "bookingx", store, location, credentials)
    folder = tmp_path_factory.mktemp("crash")
    path = folder / "network.toml"
    path.write_text(location_toml(site, folder))
    network = Network(site, stalling, path, folder)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in credentials.items():
                patch.setenv(env_name(HUB, name), value)
            patch.setenv("GATEWAY_SECRET_KEY_FILE", str(folder / "secret.key"))
            yield network
    finally:
        for process in network.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        thread.run(location.stop())
        thread.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    url: str
    process: subprocess.Popen[bytes]
    token: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)  # no lifespan shutdown, no finally: as a crash
        self.process.wait(timeout=10)


def start(database_url: str, network: Network, name: str) -> Process:
    port = _free_port()
    env = {
        **os.environ,
        **LEASES,
        "GATEWAY_NETWORK_FILE": str(network.file),
        "GATEWAY_SYNC_SCHEDULER": "false",
        "GATEWAY_SYNC_BATCH_SIZE": "2",
        "GATEWAY_CONNECTOR_TIMEOUT_SECONDS": "60",  # the stalled write is in flight, not timed out, when killed
        "GATEWAY_HEARTBEAT_SECONDS": "30",
        "GATEWAY_GRAPHIQL": "false",
    }
    log = (network.folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "tests/clocked.py", "server.py", "--port", str(port), "--database-url", database_url],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    network.processes.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((network.folder / f"{name}.log").read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return Process(url, process, cli_token(database_url))
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the gateway did not start")


@pytest.fixture(scope="module")
def database(own_database_url: str, network: Network) -> Iterator[str]:
    """The cache, filled by a first process's sync of the location, its service included (then stopped cleanly)."""
    first = start(own_database_url, network, "first")
    try:
        _sync(first, wait=True)
    finally:
        first.process.terminate()
        first.process.wait(timeout=30)
    yield own_database_url


def _sync(gateway: Process, *, wait: bool) -> dict[str, Any]:
    answer = gateway.graphql(TRIGGER_SYNC, {"input": {"locationId": f"Location:{HUB}", "wait": wait}})["triggerSync"]
    assert answer["errors"] == [], answer
    job: dict[str, Any] = answer["syncJob"]
    return job


def _until(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _query(database_url: str, statement: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(statement)).all()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_retry_after_a_kill_mid_booking_gets_the_one_booking_made(database: str, network: Network) -> None:
    gateway = start(database, network, "booking")
    catalogue = gateway.graphql(CATALOGUE, {"id": f"Location:{HUB}"})["location"]
    resource = next(r["id"] for r in catalogue["resources"] if r["name"].endswith("R-2"))
    customer = gateway.graphql(CUSTOMERS)["customers"]["nodes"][0]["id"]
    variables = {
        "input": {
            "idempotencyKey": f"crash-{uuid.uuid4().hex}",
            "serviceId": catalogue["services"][0]["id"],
            "startAt": START,
            "resourceId": resource,
            "customerId": customer,
        }
    }
    store = network.site.store
    before = set(store.bookings)
    network.stalling.hold_seconds = 30.0  # the location books it, then its answer is slow: in flight when killed
    answered: list[str] = []

    def send() -> None:
        try:
            response = httpx.post(
                f"{gateway.url}/graphql",
                json={"query": CREATE_BOOKING, "variables": variables},
                headers={"Authorization": f"Bearer {gateway.token}"},
                timeout=60,
            )
            answered.append(response.text)
        except httpx.HTTPError as error:  # the kill cuts it off: expected
            answered.append(repr(error))

    sent = threading.Thread(target=send, daemon=True)
    try:
        sent.start()
        _until(lambda: set(store.bookings) - before or answered)
        assert set(store.bookings) - before, f"the location was not asked to book: {answered}"
        gateway.kill()
    finally:
        network.stalling.hold_seconds = 0.0
    stuck = _query(
        database, select(IdempotencyRecord.status).where(IdempotencyRecord.key == variables["input"]["idempotencyKey"])
    )
    assert stuck == [("in_progress",)]

    again = start(database, network, "booking-again")
    try:

        def retried() -> dict[str, Any] | None:
            answer: dict[str, Any] = again.graphql(CREATE_BOOKING, variables)["createBooking"]
            if answer["errors"] and answer["errors"][0]["code"] == "CONFLICT":
                assert answer["errors"][0]["retryAfter"] is not None  # still the dead process's, for a second
                return None
            return answer

        answer = _until(retried)
        assert answer["errors"] == [] and answer["outcomes"] == [{"status": "DELIVERED"}], answer
        booking_id = answer["booking"]["id"]
        assert again.graphql(CREATE_BOOKING, variables)["createBooking"]["booking"]["id"] == booking_id
    finally:
        again.kill()
    made = set(store.bookings) - before
    assert len(made) == 1, made  # the location booked it once, however often it was sent
    cached = _query(database, select(Booking.id, Booking.status).where(Booking.local_booking_id.in_(made)))
    assert [(f"Booking:{row[0]}" == booking_id or row[0] in booking_id, row[1]) for row in cached] == [
        (True, "confirmed")
    ]
    at_slot = _query(
        database,
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.service_location_id == HUB,
            Booking.start_at == select(Booking.start_at).where(Booking.local_booking_id.in_(made)).scalar_subquery(),
        ),
    )
    assert at_slot == [(1,)]


def _kill_mid_pull(database: str, network: Network, name: str) -> tuple[tuple[Any, ...], list[str]]:
    """Twelve new customers at the location, a gateway process killed while its job is pulling them page by
    page: the dead job's row (id, status, applied) and the customers' local ids."""
    store = network.site.store
    added = []
    for n in range(12):
        local_id = f"CK-{uuid.uuid4().hex[:6]}-{n:02d}"
        store.customers[local_id] = StoredCustomer(
            local_id, f"Crash{n}", "Test", f"{local_id.lower()}@example.ie", None
        )
        store.customers[local_id].updated_at = LONG_AGO
        store.touch(store.customers[local_id])
        added.append(local_id)
    gateway = start(database, network, name)
    network.stalling.method, network.stalling.path_part, network.stalling.before = "GET", "/customers", True
    network.stalling.hold_seconds = 0.4  # a page every 0.4 s: the job is mid-pull when killed
    try:
        job_id = _sync(gateway, wait=False)["id"].split(":", 1)[-1]
        _until(lambda: _query(database, select(SyncJob.pulled_count).where(SyncJob.id.contains(job_id)))[0][0] >= 4)
        gateway.kill()
    finally:
        network.stalling.hold_seconds = 0.0
    (dead,) = _query(
        database, select(SyncJob.id, SyncJob.status, SyncJob.applied_count).where(SyncJob.id.contains(job_id))
    )
    assert dead[1] == "running" and 0 < dead[2] < 12
    return tuple(dead), added


def _assert_finished_once(database: str, dead: tuple[Any, ...], added: list[str]) -> None:
    """The dead job completed, taken over once, every new customer applied once and counted once."""

    (finished,) = _query(
        database, select(SyncJob.status, SyncJob.applied_count, SyncJob.lease_owner).where(SyncJob.id == dead[0])
    )
    assert finished[0] == "completed" and finished[2] is None
    takeovers = _query(
        database, select(SyncLog.operation).where(SyncLog.sync_job_id == dead[0], SyncLog.operation == "takeover")
    )
    assert len(takeovers) == 1
    created = _query(
        database,
        select(func.count())
        .select_from(ChangeLogEntry)
        .where(
            ChangeLogEntry.sync_job_id == dead[0],
            ChangeLogEntry.entity_type == "customer",
            ChangeLogEntry.operation == "create",
        ),
    )
    assert created == [(12,)]  # every new customer once: nothing lost, nothing applied twice
    assert finished[1] == 12  # and the job's counts say so, across both processes
    mapped = _query(
        database,
        select(CustomerMapping.local_customer_id, func.count())
        .where(CustomerMapping.location_id == HUB, CustomerMapping.local_customer_id.in_(added))
        .group_by(CustomerMapping.local_customer_id),
    )
    assert sorted(mapped) == sorted((local_id, 1) for local_id in added)
    running = _query(database, select(func.count()).select_from(SyncJob).where(SyncJob.status == "running"))
    assert running == [(0,)]


def test_a_sync_job_killed_mid_pull_is_taken_over_and_finished_from_its_cursor(database: str, network: Network) -> None:
    dead, added = _kill_mid_pull(database, network, "sync")
    again = start(database, network, "sync-again")
    try:

        def taken_over() -> dict[str, Any] | None:
            answer = again.graphql(TRIGGER_SYNC, {"input": {"locationId": f"Location:{HUB}", "wait": True}})
            result: dict[str, Any] = answer["triggerSync"]
            return None if result["errors"] else result["syncJob"]

        job = _until(taken_over)
        assert job["status"] == "COMPLETED"
        if not (dead[0] in job["id"] or job["id"].endswith(dead[0])):
            # The restarted process's lease watch took the dead job over first; the trigger then ran a new one.
            assert _query(database, select(SyncJob.status).where(SyncJob.id == dead[0])) == [("completed",)]
        fresh = _sync(again, wait=True)  # and the next one runs as ever
        assert fresh["status"] == "COMPLETED"
    finally:
        again.kill()
    _assert_finished_once(database, dead, added)


def test_a_dead_sync_job_is_finished_without_any_trigger(database: str, network: Network) -> None:
    dead, added = _kill_mid_pull(database, network, "watch")
    # No scheduler and no trigger: the restarted process's lease watch takes the job over by itself.
    again = start(database, network, "watch-again")
    try:
        _until(lambda: _query(database, select(SyncJob.status).where(SyncJob.id == dead[0]))[0][0] == "completed")
    finally:
        again.kill()
    _assert_finished_once(database, dead, added)
