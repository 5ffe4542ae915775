"""For tests of subscription transports: the bus's subscriber counts, and a change that pushes an event."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from live_helpers import customer_known_at, free_slot, wait_for
from node_clients import CLIENTS, run_node

from conftest import RunningGateway
from identity.principal import Role

SUBSCRIBE_SCRIPT: Path = CLIENTS / "subscribe.mjs"

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } outcomes { status } errors { code message } }
}
"""


def subscribers(gateway: RunningGateway, topic: str) -> int:
    async def count() -> int:
        return int(gateway.app.state.bus.subscriber_count(topic))

    return gateway.run(count())


def wait_subscribed(gateway: RunningGateway, topic: str, count: int) -> None:
    """The server registers a subscription a moment after the client sent it; no protocol acknowledges it."""
    wait_for(lambda: subscribers(gateway, topic) == count, 15, f"{count} subscribers of {topic}")


def create_booking(gateway: RunningGateway, location_id: str) -> str:
    """A booking at a free slot of the location, created by the network admin through GraphQL: its Booking id."""
    slot = free_slot(gateway, location_id)
    variables = {
        "input": {
            "idempotencyKey": uuid.uuid4().hex,
            "serviceId": f"Service:{slot.service_id}",
            "startAt": slot.start_at.isoformat(),
            "resourceId": f"Resource:{slot.resource_id}",
            "customerId": f"Customer:{customer_known_at(gateway, location_id)}",
        }
    }
    result = gateway.graphql(CREATE_BOOKING, variables)["data"]["createBooking"]
    assert result["errors"] == [] and result["outcomes"] == [{"status": "DELIVERED"}], result
    booking_id: str = result["booking"]["id"]
    return booking_id


def manager_token(gateway: RunningGateway, location_id: str) -> str:
    """A location manager's token, for that one location."""
    authenticator = gateway.app.state.authenticator
    token: str = gateway.run(
        authenticator.issue(Role.LOCATION_MANAGER, subject=f"manager-{location_id}", locations=[location_id])
    )
    return token


def node_subscriber(
    pool: ThreadPoolExecutor,
    client: str,
    gateway: RunningGateway,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    count: int = 1,
) -> Future[dict[str, Any]]:
    """tests/clients/subscribe.mjs running in `pool`: a real `client` subscribed as `token` (None: no credential)
    until it has `count` results; the future holds what it printed ({"results": [...]} or {"error": {...}})."""
    arguments = (client, gateway.url, token or "-", query, json.dumps(variables or {}), str(count))
    return pool.submit(run_node, SUBSCRIBE_SCRIPT, *arguments, timeout=60)
