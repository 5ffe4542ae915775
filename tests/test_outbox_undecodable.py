"""An outbox row no message type reads (a newer gateway's operation, or a damaged payload) is dead-lettered
at once with the reason, visible in `outboxMessages`, instead of failing on every pass of the worker."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sync_helpers import eventually

from conftest import RunningGateway
from sources.cache.models import OutboxMessage
from sources.cache.types import utc_now

DEAD_FOR = """
query Dead($locations: [ID!]) {
  outboxMessages(statuses: ["dead"], locationIds: $locations) { id operation status lastError }
}
"""
LOCATION = "leeds-headingley"


def _queue(gateway: RunningGateway, operation: str, payload: dict[str, object]) -> str:
    message_id = f"obx_{uuid.uuid4().hex[:12]}"

    async def write() -> None:
        async with gateway.engine.begin() as connection:
            await connection.execute(
                insert(OutboxMessage).values(
                    id=message_id,
                    location_id=LOCATION,
                    entity_type="booking",
                    entity_id="bkg_unreadable",
                    operation=operation,
                    payload=payload,
                    idempotency_key=message_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=utc_now(),
                    created_at=utc_now(),
                )
            )

    gateway.run(write())
    return message_id


def _row(gateway: RunningGateway, message_id: str) -> OutboxMessage:
    async def read() -> OutboxMessage:
        async with gateway.engine.connect() as connection:
            row = (await connection.execute(select(OutboxMessage).where(OutboxMessage.id == message_id))).one()
            return row  # type: ignore[return-value]

    return gateway.run(read())


def test_an_unknown_operation_is_dead_lettered_with_its_reason_and_listed(live_gateway: RunningGateway) -> None:
    unknown = _queue(live_gateway, "booking.teleport", {"booking_id": "bkg_unreadable"})
    damaged = _queue(live_gateway, "booking.cancel", {"reason": 42})

    eventually(lambda: _row(live_gateway, unknown).status == "dead" or None, what="the unknown operation dead")
    eventually(lambda: _row(live_gateway, damaged).status == "dead" or None, what="the damaged payload dead")
    assert "no message type has this operation" in (_row(live_gateway, unknown).last_error or "")
    assert _row(live_gateway, unknown).attempts == 0  # never sent anywhere

    listed = live_gateway.graphql(DEAD_FOR, {"locations": [f"Location:{LOCATION}"]})["data"]["outboxMessages"]
    by_id = {message["id"]: message for message in listed}
    assert by_id[f"OutboxMessage:{unknown}"]["operation"] == "booking.teleport"
    assert by_id[f"OutboxMessage:{damaged}"]["lastError"]
