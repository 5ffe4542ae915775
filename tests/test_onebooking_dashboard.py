"""OneBooking's dashboard over the gateway (specs/onebooking-central.md): a website pushes its bookings, admins
edit them through PUT /api/bookings/{id}, and the website hears each edit once by its signed webhook, checked
with the spec's own verifyWebhookSignature; staff see only their websites, and only admins may edit."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from live_helpers import wait_for
from onebooking_helpers import (
    SALFORD,
    bearer,
    credential,
    inbox,
    new_bookings,
    push_all,
    pusher,
    start_central,
    token,
    website_store,
)

from conftest import RunningGateway, stop_gateway
from devnet.simulators.onebooking import verify_webhook_signature
from identity.principal import Role
from sync.webhooks.verify import ONEBOOKING, verify

BOOKINGS = "/api/bookings"


@pytest.fixture(scope="module")
def central(own_database_url: str) -> Iterator[RunningGateway]:
    running = start_central(own_database_url)
    try:
        yield running
    finally:
        stop_gateway(running)


def _get(central: RunningGateway, headers: dict[str, str], **params: str | list[str]) -> httpx.Response:
    return httpx.get(f"{central.url}{BOOKINGS}", params=params, headers=headers, timeout=30)


def _put(central: RunningGateway, booking_id: str, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    return httpx.put(f"{central.url}{BOOKINGS}/{booking_id}", json=body, headers=headers, timeout=30)


@pytest.mark.asyncio
async def test_twenty_edits_of_two_hundred_pushed_bookings_reach_the_website_once_each_signed_as_the_spec_says(
    central: RunningGateway,
) -> None:
    store = website_store(central)
    local_ids = new_bookings(store, 200, tag="Mass", day_offset=0)
    answers = await push_all(pusher(central), local_ids, "booking.created")
    assert [answer.status_code for answer in answers] == [200] * 200, [a.text for a in answers if a.status_code != 200]
    booking_ids = {local_id: answer.json()["booking_id"] for local_id, answer in zip(local_ids, answers, strict=True)}

    received = inbox(central)
    received.fail_first = 2  # every event's first two deliveries fail: the website is flaky
    already = len(received.deliveries)
    admin = bearer(token(central, Role.LOCATION_MANAGER, SALFORD))
    edited = local_ids[::10]
    try:
        for number, local_id in enumerate(edited):
            notes = f"Customer asked to cancel ({number})"
            answer = _put(central, booking_ids[local_id], {"status": "cancelled", "admin_notes": notes}, admin)
            assert answer.status_code == 200, answer.text
            assert answer.json()["booking"]["status"] == "cancelled"
            assert answer.json()["booking"]["admin_notes"] == notes
        wait_for(lambda: len([d for d in received.deliveries[already:] if d.applied]) == len(edited), 30, "20 webhooks")
        await asyncio.sleep(1.0)  # long enough for a second copy of any of them to arrive
    finally:
        received.fail_first = 0

    deliveries = received.deliveries[already:]
    applied = [delivery for delivery in deliveries if delivery.applied]
    secret = credential(central, SALFORD, "webhook_secret")
    assert len(applied) == 20
    for delivery in applied:
        assert delivery.signature is not None and delivery.timestamp is not None
        assert verify_webhook_signature(delivery.body.decode(), delivery.signature, secret, delivery.timestamp)
        # The gateway's own verifier (sync.webhooks.verify.ONEBOOKING) agrees with the spec's.
        sent_at = datetime.fromtimestamp(int(delivery.timestamp), tz=UTC)
        verify(ONEBOOKING, [secret], delivery.body, delivery.signature, timestamp=delivery.timestamp, now=sent_at)
        assert delivery.payload["event"] == "booking.status_changed"
        assert delivery.payload["data"]["status"] == "cancelled"
        assert delivery.payload["updated_fields"] == ["admin_notes", "status"]
    assert sorted(delivery.payload["source_booking_id"] for delivery in applied) == sorted(edited)
    # Once each, and each event kept its id through its failed tries.
    assert len({delivery.event_id for delivery in applied}) == 20
    tries = Counter(delivery.event_id for delivery in deliveries)
    assert set(tries.values()) == {3}
    assert not any(delivery.replay for delivery in deliveries)
    assert all(delivery.verified for delivery in deliveries)
    assert all(store.bookings[local_id].status == "cancelled" for local_id in edited)
    assert all(store.bookings[local_id].status == "confirmed" for local_id in local_ids if local_id not in edited)
