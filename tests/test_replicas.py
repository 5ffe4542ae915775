"""Two gateway processes on one PostgreSQL: a change made through one is pushed by the other."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from ws_helpers import TRANSPORT_WS, GraphQLSocket

from conftest import ThrowawayPostgres, cli_token
from sources.cache.database import create_engine
from sources.cache.models import CustomerMapping

REPO = Path(__file__).resolve().parent.parent
HOME = "manchester-central"

BOOKING_EVENTS = """
subscription Bookings($location: ID) {
  bookingEvents(locationId: $location) { bookingId change serviceLocationId booking { status } }
}
"""

SERVICES = "query Services($id: ID!) { location(id: $id) { services { id } } }"

AVAILABILITY = """
query Free($input: AvailabilityInput!) {
  availability(input: $input) { locations { slots { startAt resource { id } } } }
}
"""

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } outcomes { status } errors { code message } }
}
"""


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    admin_token: str = ""

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_replica(database_url: str, log: Path, **environment: str) -> Replica:
    """`python server.py` as a process of its own, as it would run in a deployment."""
    port = _free_port()
    env = {**os.environ, "GATEWAY_GRAPHIQL": "false", "GATEWAY_HEARTBEAT_SECONDS": "1", **environment}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "tests/clocked.py", "server.py", "--port", str(port), "--database-url", database_url],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    replica = Replica(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{replica.url}/health", timeout=2).status_code == 200:
                replica.admin_token = cli_token(database_url)
                return replica
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_replica(replica)
    raise RuntimeError(f"the gateway did not start:\n{log.read_text(errors='replace')[-3000:]}")


def stop_replica(replica: Replica) -> None:
    if replica.process.poll() is None:
        replica.process.terminate()
        try:
            replica.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            replica.process.kill()
            replica.process.wait(timeout=10)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Replica, str]]:
    """Process 1 loads the demo network and serves the simulated locations; process 2 only serves the API."""
    logs = tmp_path_factory.mktemp("replicas")
    database = ThrowawayPostgres()
    database.create()
    first = second = None
    try:
        first = start_replica(database.url, logs / "first.log")
        second = start_replica(
            database.url, logs / "second.log", GATEWAY_SIMULATE_LOCATIONS="false", GATEWAY_DEMO_NETWORK="false"
        )
        yield first, second, database.url
    finally:
        for replica in (second, first):
            if replica is not None:
                stop_replica(replica)
        database.drop()


async def _customer_at(database_url: str, location_id: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                select(func.min(CustomerMapping.customer_id)).where(CustomerMapping.location_id == location_id)
            )
            return str(found.scalar_one())
    finally:
        await engine.dispose()


def free_slots(replica: Replica, location_id: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` free (service, slot) pairs at the location, as it answers live."""
    service = replica.graphql(SERVICES, {"id": f"Location:{location_id}"})["location"]["services"][0]["id"]
    start = (datetime.now(UTC) + timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"serviceId": service, "from": start.isoformat(), "to": (start + timedelta(days=7)).isoformat()}
    locations = replica.graphql(AVAILABILITY, {"input": window})["availability"]["locations"]
    slots = [slot for location in locations for slot in location["slots"]]
    by_resource = {slot["resource"]["id"]: slot for slot in reversed(slots)}  # one per resource: none overlap
    assert len(by_resource) >= count, locations
    return [(service, slot) for slot in list(by_resource.values())[:count]]


def book(replica: Replica, service: str, slot: dict[str, Any], customer: str) -> str:
    variables = {
        "input": {
            "idempotencyKey": uuid.uuid4().hex,
            "serviceId": service,
            "startAt": slot["startAt"],
            "resourceId": slot["resource"]["id"],
            "customerId": f"Customer:{customer}",
        }
    }
    result = replica.graphql(CREATE_BOOKING, variables)["createBooking"]
    assert result["errors"] == [] and result["outcomes"] == [{"status": "DELIVERED"}], result
    booking_id: str = result["booking"]["id"]
    return booking_id


def test_a_booking_made_through_one_process_is_pushed_to_subscribers_of_both(
    replicas: tuple[Replica, Replica, str],
) -> None:
    first, second, database_url = replicas
    customer = asyncio.run(_customer_at(database_url, HOME))
    (service, slot), (_, next_slot) = free_slots(first, HOME, 2)
    home = {"location": f"Location:{HOME}"}
    with (
        GraphQLSocket(second.url, TRANSPORT_WS, token=second.admin_token) as there,
        GraphQLSocket(first.url, TRANSPORT_WS, token=first.admin_token) as here,
    ):
        on_second = there.subscribe(BOOKING_EVENTS, home)
        on_first = here.subscribe(BOOKING_EVENTS, home)
        there.sync()
        here.sync()

        # Latency is bench/subscriptions.py's to measure; here, only that the other replica hears it.
        booking_id = book(first, service, slot, customer)
        event = there.next(on_second, seconds=10.0)["bookingEvents"]
        assert event == {
            "bookingId": booking_id,
            "change": "CREATED",
            "serviceLocationId": f"Location:{HOME}",
            "booking": {"status": "CONFIRMED"},  # process 2 reads it from the shared cache
        }
        assert here.next(on_first, seconds=1.0)["bookingEvents"]["bookingId"] == booking_id
        # Each subscriber had it once: the next event either sees is the next booking.
        second_booking = book(first, service, next_slot, customer)
        assert there.next(on_second, seconds=1.0)["bookingEvents"]["bookingId"] == second_booking
        assert here.next(on_first, seconds=1.0)["bookingEvents"]["bookingId"] == second_booking
