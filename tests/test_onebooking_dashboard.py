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
from cache_helpers import count
from live_helpers import wait_for
from onebooking_helpers import (
    BOOKINGS,
    MANCHESTER,
    SALFORD,
    bearer,
    credential,
    inbox,
    new_bookings,
    push_all,
    pusher,
    running_central,
    token,
    website_store,
)

from conftest import RunningGateway
from devnet.simulators.onebooking import verify_webhook_signature
from identity.principal import Role
from sources.cache.models import Booking, OutboxMessage
from sync.webhooks.verify import ONEBOOKING, verify


@pytest.fixture(scope="module")
def central(own_database_url: str) -> Iterator[RunningGateway]:
    yield from running_central(own_database_url)


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


def test_staff_see_only_their_websites_bookings_and_no_contact_data(central: RunningGateway) -> None:
    staff = bearer(token(central, Role.SHARED_STAFF, SALFORD, MANCHESTER))
    answer = _get(central, staff, limit="100")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["bookings"]
    # Manchester is theirs too, but it is no website: the dashboard shows websites only.
    assert {booking["website_id"] for booking in body["bookings"]} == {SALFORD}
    assert body["total"] == count(central, Booking, Booking.service_location_id == SALFORD)
    assert all(booking["customer_email"] is None and booking["customer_phone"] is None for booking in body["bookings"])

    elsewhere = bearer(token(central, Role.SHARED_STAFF, MANCHESTER))
    assert _get(central, elsewhere).json() == {"success": True, "bookings": [], "total": 0, "next_cursor": None}
    refused = _get(central, elsewhere, website=SALFORD)
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    unknown = _get(central, elsewhere, website="no-such-website")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "WEBSITE_NOT_FOUND")


def test_superadmin_pages_through_every_website_booking(central: RunningGateway) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        body = _get(central, central.headers, **params).json()
        seen += [booking["id"] for booking in body["bookings"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == count(central, Booking, Booking.service_location_id == SALFORD)


@pytest.mark.parametrize("role", [Role.SHARED_STAFF, Role.CUSTOMER])
def test_staff_and_customers_cannot_edit_and_nothing_changes_or_is_queued(central: RunningGateway, role: Role) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag=f"Forbidden {role.value}", day_offset=40)[0]
    pushed = central.run(pusher(central).push(local_id, "booking.created"))
    booking_id = pushed.json()["booking_id"]
    customer_id = central.run(_customer_of(central, booking_id))
    caller = bearer(token(central, role, SALFORD, customer_id=customer_id if role is Role.CUSTOMER else None))
    queued = count(central, OutboxMessage, OutboxMessage.entity_id == booking_id)
    deliveries = len(inbox(central).deliveries)

    answer = _put(central, booking_id, {"status": "cancelled", "admin_notes": "not yours to cancel"}, caller)
    assert answer.status_code == 403
    assert answer.json()["success"] is False and answer.json()["code"] == "FORBIDDEN"
    assert (
        count(central, Booking, Booking.id == booking_id, Booking.status == "confirmed", Booking.admin_notes.is_(None))
        == 1
    )
    assert count(central, OutboxMessage, OutboxMessage.entity_id == booking_id) == queued
    assert len(inbox(central).deliveries) == deliveries
    assert store.bookings[local_id].status == "confirmed"


async def _customer_of(central: RunningGateway, booking_id: str) -> str:
    async with central.engine.connect() as connection:
        customer_id: str = (
            (await connection.execute(Booking.__table__.select().where(Booking.id == booking_id))).one().customer_id
        )
    return customer_id


def test_an_admin_of_another_location_cannot_edit_a_website_booking(central: RunningGateway) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag="Other admin", day_offset=41)[0]
    booking_id = central.run(pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    other = bearer(token(central, Role.LOCATION_MANAGER, MANCHESTER))
    answer = _put(central, booking_id, {"admin_notes": "mine now"}, other)
    # Not among the bookings they see: as if there were none.
    assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")
    assert count(central, Booking, Booking.id == booking_id, Booking.admin_notes.is_(None)) == 1


def test_notes_alone_reach_the_website_as_booking_updated(central: RunningGateway) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag="Notes", day_offset=42)[0]
    booking_id = central.run(pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    received = inbox(central)
    already = len(received.deliveries)
    answer = _put(
        central, booking_id, {"admin_notes": "VIP: window seat"}, bearer(token(central, Role.FRANCHISEE, SALFORD))
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["sync"] == [{"location_id": SALFORD, "status": "delivered", "code": None, "reason": None}]
    assert answer.json()["booking"]["admin_notes"] == "VIP: window seat"
    [delivery] = received.deliveries[already:]
    assert delivery.applied
    assert delivery.payload["event"] == "booking.updated"
    assert delivery.payload["data"] == {"admin_notes": "VIP: window seat"}
    assert delivery.payload["updated_by"] == "test-franchisee"
    assert store.bookings[local_id].status == "confirmed"


def test_a_move_reaches_the_website_in_its_local_time(central: RunningGateway) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag="Move", day_offset=43)[0]
    booking_id = central.run(pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    before = store.bookings[local_id].start_at.astimezone(store.zone)
    moved_to = "15:00" if before.hour != 15 else "16:00"
    admin = bearer(token(central, Role.LOCATION_MANAGER, SALFORD))
    answer = _put(central, booking_id, {"time_slot": moved_to}, admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["booking"]["time_slot"] == moved_to
    assert answer.json()["booking"]["activity_date"] == before.date().isoformat()
    assert store.bookings[local_id].start_at.astimezone(store.zone).strftime("%H:%M") == moved_to


@pytest.mark.parametrize(
    "body",
    [{}, {"status": "confirmed"}, {"admin_notes": "x" * 2001}, {"time_slot": "25:00"}, {"colour": "red"}],
    ids=["nothing", "a-status-websites-do-not-take", "notes-too-long", "not-a-time", "unknown-field"],
)
def test_a_bad_edit_is_invalid_and_changes_nothing(central: RunningGateway, body: dict[str, object]) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag="Bad edit", day_offset=44)[0]
    booking_id = central.run(pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    answer = _put(central, booking_id, body, central.headers)
    assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_PAYLOAD")
    assert count(central, OutboxMessage, OutboxMessage.entity_id == booking_id) == 0


def test_a_retried_edit_with_its_idempotency_key_changes_nothing_twice(central: RunningGateway) -> None:
    store = website_store(central)
    local_id = new_bookings(store, 1, tag="Retried", day_offset=45)[0]
    booking_id = central.run(pusher(central).push(local_id, "booking.created")).json()["booking_id"]
    received = inbox(central)
    already = len(received.deliveries)
    headers = {**central.headers, "Idempotency-Key": "edit-" + "k" * 300}  # longer than a gateway key: hashed
    first = _put(central, booking_id, {"status": "cancelled"}, headers)
    again = _put(central, booking_id, {"status": "cancelled"}, headers)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json()["booking"]["status"] == "cancelled"
    assert len([delivery for delivery in received.deliveries[already:] if delivery.applied]) == 1
    assert count(central, OutboxMessage, OutboxMessage.entity_id == booking_id) == 1
