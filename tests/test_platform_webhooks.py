"""POST /api/webhooks/{platform}: each platform's signed delivery is applied once and reaches subscribers;
replayed, tampered, expired, oversized and malformed ones are refused with nothing left but an audit entry."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cache_helpers import count, scalar
from live_helpers import wait_for
from sqlalchemy import select
from ws_helpers import GraphQLSocket

from conftest import RunningGateway
from devnet.simulators.platform_wire import appointment_out
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking
from resolvers.ids import to_global_id
from shims.platforms.registry import PLATFORMS
from sources.cache.models import AuditEntry, Booking, Customer, CustomerMapping, WebhookReceipt

LEEDS = "leeds-headingley"  # the demo's platform location
SECRET = "whsec-leeds-7c1d9e"
PLATFORM_NAMES = sorted(PLATFORMS)
BOOKING_EVENTS = """subscription($location: ID!) {
  bookingEvents(locationId: $location) { bookingId status booking { notes } } }"""

VAGARO_STATUS = {"pending": "Booked", "confirmed": "Confirmed", "completed": "Completed", "cancelled": "Cancelled"}
PHOREST_STATE = {"pending": "BOOKED", "confirmed": "CONFIRMED", "completed": "PAID", "cancelled": "CANCELLED"}


@pytest.fixture(scope="module")
def platform_gateway(live_gateway: RunningGateway) -> RunningGateway:
    """The demo gateway with a webhook secret for its platform location, as rotating its credentials would give."""

    async def add_secret() -> None:
        credentials = live_gateway.app.state.services.credentials
        async with credentials.writer.transaction() as session:
            current = await credentials.current_row(session, LEEDS)
            held = credentials.decrypted(current)
            await credentials.add_generation(
                session, LEEDS, credentials={**held, "webhook_secret": SECRET}, inbound_api_key=None
            )

    live_gateway.run(add_secret())
    return live_gateway


# -- deliveries, as each platform would send them ---------------------------------------------------
def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _event_body(platform: str, booking: StoredBooking, store: LocationStore, event_id: str) -> dict[str, Any]:
    when = _iso(booking.updated_at)
    amount = str(Decimal(booking.price_minor).scaleb(-2))
    if platform == "booksy":
        appointment = appointment_out(booking, store.zone)
        return {
            "event_id": event_id,
            "event_type": "appointment.updated",
            "occurred_at": when,
            "data": {"appointment": appointment},
        }
    if platform == "vagaro":
        payload = {
            "appointmentId": booking.local_id,
            "customerId": booking.local_customer_id,
            "serviceId": booking.local_service_id,
            "serviceProviderId": booking.local_resource_id,
            "startTime": _iso(booking.start_at),
            "endTime": _iso(booking.end_at),
            "bookingStatus": VAGARO_STATUS[booking.status],
            "amount": amount,
            "currency": booking.currency,
            "notes": booking.notes,
        }
        return {"id": event_id, "type": "appointment", "action": "updated", "createdDate": when, "payload": payload}
    if platform == "phorest":
        appointment = {
            "appointmentId": booking.local_id,
            "clientId": booking.local_customer_id,
            "serviceId": booking.local_service_id,
            "staffId": booking.local_resource_id,
            "startTime": _iso(booking.start_at),
            "endTime": _iso(booking.end_at),
            "state": PHOREST_STATE[booking.status],
            "price": amount,
            "currency": booking.currency,
            "notes": booking.notes,
            "version": booking.version,
            "updatedAt": when,
        }
        return {"eventId": event_id, "eventType": "APPOINTMENT_UPDATED", "timestamp": when, "appointment": appointment}
    return {
        "messageId": event_id,
        "eventId": "appointmentBooking.updated",
        "eventSchemaVersion": 1,
        "eventInstanceOriginationDateTime": when,
        "eventData": {"siteId": 4077, "appointmentId": booking.local_id},
    }


def _headers(platform: str, body: bytes, *, secret: str = SECRET, sent: int | None = None) -> dict[str, str]:
    described = PLATFORMS[platform]
    timestamp = str(int(time.time()) if sent is None else sent)
    headers = {"content-type": "application/json"}
    headers[described.signature_header] = described.scheme.sign(secret, body, timestamp)
    if described.timestamp_header is not None:
        headers[described.timestamp_header] = timestamp
    return headers


def _post(gateway: RunningGateway, platform: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/api/webhooks/{platform}", params={"location": LEEDS}, content=body, headers=headers, timeout=30
    )


def _deliver(gateway: RunningGateway, platform: str, body: bytes) -> httpx.Response:
    return _post(gateway, platform, body, _headers(platform, body))


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _changed_booking(gateway: RunningGateway, index: int, notes: str) -> StoredBooking:
    """A booking the platform changed (a new note, a new revision), as the platform now holds it."""
    store = gateway.store(LEEDS)
    local_ids = sorted(b.local_id for b in store.bookings.values() if b.status in VAGARO_STATUS)
    return store.edit_booking(local_ids[index], notes=notes)


# -- what the cache holds ---------------------------------------------------------------------------
def _notes(gateway: RunningGateway, local_id: str) -> str:
    where = (Booking.service_location_id == LEEDS, Booking.local_booking_id == local_id)
    return str(scalar(gateway, select(Booking.notes).where(*where)))


def _points(gateway: RunningGateway, local_id: str) -> int:
    where = (CustomerMapping.location_id == LEEDS, CustomerMapping.local_customer_id == local_id)
    return int(scalar(gateway, select(CustomerMapping.loyalty_points).where(*where)) or 0)


def _refusals(gateway: RunningGateway, code: str) -> int:
    return count(gateway, AuditEntry, AuditEntry.action == "webhook.refused", AuditEntry.entity_id == code)


def _receipts(gateway: RunningGateway, event_id: str) -> int:
    return count(gateway, WebhookReceipt, WebhookReceipt.event_id == event_id)


def _subscribers(gateway: RunningGateway) -> int:
    async def count() -> int:
        return int(gateway.app.state.services.bus.subscriber_count("booking.changed"))

    return gateway.run(count())


# -- accepted -------------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_signed_delivery_is_applied_once_and_reaches_a_booking_events_subscriber(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    event_id = f"{platform}-evt-applied"
    before = _subscribers(gateway)
    with GraphQLSocket(gateway.url, token=gateway.admin_token) as subscriber:
        operation = subscriber.subscribe(BOOKING_EVENTS, {"location": to_global_id("Location", LEEDS)})
        wait_for(lambda: _subscribers(gateway) == before + 1, 5, "the subscription")
        # Changed once the subscriber listens: an earlier test's webhook-started pull of the location may still
        # be running and apply the change first, and its event must not go out before anyone listens.
        booking = _changed_booking(gateway, PLATFORM_NAMES.index(platform), f"changed at {platform}")
        body = _encoded(_event_body(platform, booking, store, event_id))
        answer = _deliver(gateway, platform, body)
        assert answer.status_code == 200, answer.text
        taken = answer.json()
        assert (taken["platform"], taken["location_id"], taken["event_id"], taken["outcome"]) == (
            platform,
            LEEDS,
            event_id,
            "applied",
        )
        assert len(taken["booking_ids"]) == 1
        assert _notes(gateway, booking.local_id) == f"changed at {platform}"
        event = subscriber.next(operation, seconds=10.0)["bookingEvents"]
        assert event["bookingId"] == to_global_id("Booking", taken["booking_ids"][0])
        assert event["booking"]["notes"] == f"changed at {platform}"
    assert _receipts(gateway, event_id) == 1


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_replayed_delivery_is_refused_and_applies_nothing_again(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    booking = _changed_booking(gateway, 4 + PLATFORM_NAMES.index(platform), "first copy")
    event_id = f"{platform}-evt-replayed"
    body = _encoded(_event_body(platform, booking, store, event_id))
    assert _deliver(gateway, platform, body).status_code == 200
    # A later change arrives; the replay of the first must not put the first note back.
    later = store.edit_booking(booking.local_id, notes="later")
    assert _deliver(gateway, platform, _encoded(_event_body(platform, later, store, f"{event_id}-later"))).is_success
    refused = _refusals(gateway, "DUPLICATE_EVENT")
    replayed = _deliver(gateway, platform, body)
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["error"]["code"] == "DUPLICATE_EVENT"
    assert _refusals(gateway, "DUPLICATE_EVENT") == refused + 1
    assert _notes(gateway, booking.local_id) == "later"
    assert _receipts(gateway, event_id) == 1


def _refused_without_effect(
    gateway: RunningGateway, platform: str, body: bytes, headers: dict[str, str], status: int, code: str, event_id: str
) -> None:
    refused = _refusals(gateway, code)
    answer = _post(gateway, platform, body, headers)
    assert answer.status_code == status, answer.text
    if status != 413:
        assert answer.json()["error"]["code"] == code
    assert _refusals(gateway, code) == refused + 1
    assert _receipts(gateway, event_id) == 0


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_a_tampered_delivery_is_refused_and_leaves_only_an_audit_entry(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    local_id = sorted(store.bookings)[0]
    booking = replace(store.bookings[local_id], notes="forged")
    event_id = f"{platform}-evt-tampered"
    body = _encoded(_event_body(platform, booking, store, event_id))
    headers = _headers(platform, body)
    # One byte changed after signing (the event id: a thin event carries no note to forge).
    tampered = body.replace(b"evt-tampered", b"evt-tamperee")
    _refused_without_effect(gateway, platform, tampered, headers, 401, "BAD_SIGNATURE", event_id)
    assert _notes(gateway, local_id) != "forged"
    wrong_key = _headers(platform, body, secret="not-the-secret")
    _refused_without_effect(gateway, platform, body, wrong_key, 401, "BAD_SIGNATURE", event_id)
    unsigned = {"content-type": "application/json"}
    _refused_without_effect(gateway, platform, body, unsigned, 401, "MISSING_SIGNATURE", event_id)


@pytest.mark.parametrize("platform", [name for name in PLATFORM_NAMES if PLATFORMS[name].scheme.timestamped])
def test_an_expired_delivery_is_refused_and_leaves_only_an_audit_entry(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    booking = store.bookings[sorted(store.bookings)[0]]
    event_id = f"{platform}-evt-expired"
    body = _encoded(_event_body(platform, booking, store, event_id))
    # Signed correctly, ten minutes ago (or ten minutes ahead): outside the 5-minute window either way.
    for sent in (int(time.time()) - 600, int(time.time()) + 600):
        headers = _headers(platform, body, sent=sent)
        _refused_without_effect(gateway, platform, body, headers, 401, "EXPIRED", event_id)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_an_oversized_or_malformed_delivery_is_refused_and_leaves_only_an_audit_entry(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    event_id = f"{platform}-evt-malformed"
    oversized = _encoded({"event_id": event_id, "padding": "x" * (300 * 1024)})
    _refused_without_effect(
        gateway, platform, oversized, _headers(platform, oversized), 413, "PAYLOAD_TOO_LARGE", event_id
    )
    not_json = b'{"event_id": "' + event_id.encode() + b'", '
    _refused_without_effect(gateway, platform, not_json, _headers(platform, not_json), 400, "INVALID_JSON", event_id)
    wrong_shape = _encoded({"event_id": event_id, "messageId": event_id, "id": event_id, "eventId": event_id})
    _refused_without_effect(
        gateway, platform, wrong_shape, _headers(platform, wrong_shape), 422, "INVALID_EVENT", event_id
    )


def test_twenty_concurrent_copies_of_a_delivery_apply_once(platform_gateway: RunningGateway) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    booking = _changed_booking(gateway, 8, "one of twenty")
    event_id = "booksy-evt-twenty"
    body = _encoded(_event_body("booksy", booking, store, event_id))
    headers = _headers("booksy", body)
    refused = _refusals(gateway, "DUPLICATE_EVENT")
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(lambda _: _post(gateway, "booksy", body, headers).status_code, range(20)))
    assert statuses == [200] + [409] * 19
    assert _receipts(gateway, event_id) == 1
    assert _refusals(gateway, "DUPLICATE_EVENT") == refused + 19
    assert _notes(gateway, booking.local_id) == "one of twenty"


@pytest.mark.parametrize("platform", ["booksy", "phorest", "vagaro"])
def test_an_older_event_arriving_late_does_not_overwrite_newer_data(
    platform_gateway: RunningGateway, platform: str
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    index = 9 + PLATFORM_NAMES.index(platform)
    older = _changed_booking(gateway, index, f"older note ({platform})")
    newer = _changed_booking(gateway, index, f"newer note ({platform})")
    late = _encoded(_event_body(platform, older, store, f"{platform}-evt-older"))
    early = _encoded(_event_body(platform, newer, store, f"{platform}-evt-newer"))
    assert _deliver(gateway, platform, early).json()["outcome"] == "applied"
    answer = _deliver(gateway, platform, late)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "stale"
    assert _notes(gateway, newer.local_id) == f"newer note ({platform})"


def test_an_unknown_platform_or_location_is_not_found(platform_gateway: RunningGateway) -> None:
    gateway = platform_gateway
    body = b"{}"
    unknown = httpx.post(f"{gateway.url}/api/webhooks/acuity", params={"location": LEEDS}, content=body)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "UNKNOWN_PLATFORM"
    elsewhere = httpx.post(f"{gateway.url}/api/webhooks/booksy", params={"location": "dublin-ranelagh"}, content=body)
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "UNKNOWN_LOCATION"
    nowhere = httpx.post(f"{gateway.url}/api/webhooks/booksy", content=body)
    assert nowhere.status_code == 400 and nowhere.json()["error"]["code"] == "INVALID_LOCATION"


def test_a_customer_event_from_a_platform_without_points_keeps_the_points_the_gateway_holds(
    platform_gateway: RunningGateway,
) -> None:
    gateway = platform_gateway
    store = gateway.store(LEEDS)
    local_id = sorted(store.customers)[3]
    points = _points(gateway, local_id)
    customer = store.edit_customer(local_id, last_name="Renamed-at-Vagaro")
    body = _encoded(
        {
            "id": "vagaro-evt-customer",
            "type": "customer",
            "action": "updated",
            "createdDate": _iso(customer.updated_at),
            "payload": {
                "customerId": local_id,
                "firstName": customer.first_name,
                "lastName": customer.last_name,
                "email": customer.email,
                "modifiedDate": _iso(customer.updated_at),
            },
        }
    )
    answer = _deliver(gateway, "vagaro", body)
    assert answer.status_code == 200, answer.text
    [customer_id] = answer.json()["customer_ids"]
    assert count(gateway, Customer, Customer.id == customer_id, Customer.last_name == "Renamed-at-Vagaro") == 1
    assert _points(gateway, local_id) == points
