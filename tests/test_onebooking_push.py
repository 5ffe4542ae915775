"""The gateway's /api/bookings/sync shim (specs/onebooking-central.md): source websites push their bookings,
and a push goes through the same apply, rules, events and outbox as a pull."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from live_helpers import wait_for
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from ws_helpers import GraphQLSocket

from conftest import BACKENDS, RunningGateway, ThrowawayPostgres, stop_gateway
from devnet.simulators.onebooking import OneBookingPusher, onebooking_local_ids
from devnet.simulators.seed import seed_store
from devnet.simulators.store import LocationStore
from resolvers.ids import to_global_id
from server import create_app
from settings import Settings
from shims.onebooking.push import SYNC_PATH
from sources.cache.database import create_engine
from sources.cache.models import Booking, Customer
from sources.cache.writer import CacheWriter
from sync.apply.pipeline import ApplyResult, ApplyRules, apply_location_changes

SALFORD = "salford-quays"
MANCHESTER = "manchester-central"


# -- the gateway's /api/bookings/sync ---------------------------------------------------------
@dataclass
class Central(RunningGateway):
    database_url: str = ""
    credentials_file: Path = Path()

    def key(self, location_id: str) -> str:
        """The inbound API key the demo made for this location, from the credentials file it wrote."""
        written = json.loads(self.credentials_file.read_text())
        key: str = written["locations"][location_id]["inbound_api_key"]
        return key


@pytest.fixture(scope="module", params=BACKENDS)
def central(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """A gateway of its own (pushes write to its cache), with the OneBooking routes mounted."""
    postgres: ThrowawayPostgres | None = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('onebooking') / 'gateway.sqlite3'}"
    else:
        postgres = ThrowawayPostgres()
        postgres.create()
        url = postgres.url
    # The outbox worker looks only when woken (no poll within a test's time), so a push's writes
    # reaching other locations show that the push woke it; no scheduled pulls run alongside.
    credentials_file = tmp_path_factory.mktemp("onebooking-credentials") / "demo-credentials.json"
    settings = Settings(
        database_url=url,
        demo_network=True,
        graphiql=False,
        sync_scheduler=False,
        outbox_poll_seconds=3600,
        demo_credentials_file=credentials_file,
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    url_of = f"http://127.0.0.1:{sock.getsockname()[1]}"
    running = Central(url_of, app, server, thread, database_url=url, credentials_file=credentials_file)
    try:
        yield running
    finally:
        stop_gateway(running)
        if postgres is not None:
            postgres.drop()


async def _salford_website(central: Central, seed: int) -> tuple[LocationStore, str]:
    """Salford Quays' own system as the demo cache has it, plus one new booking made there."""
    engine = create_engine(central.database_url, pool_size=1)
    try:
        store = await seed_store(engine, SALFORD, onebooking_local_ids(seed))
    finally:
        await engine.dispose()
    service = next(s for s in sorted(store.services.values(), key=lambda s: s.local_id) if store.eligible_resources(s))
    day = datetime(2031, 6, 2, tzinfo=store.zone) + timedelta(days=seed)
    resource, start, end = store.free_slots(service.local_id, day, day + timedelta(days=1))[0]
    booking = store.create_booking(
        key=None,
        local_customer_id=None,
        customer={"first_name": "Ada", "last_name": f"Push {seed}", "email": f"Ada.Push{seed}@Example.com"},
        local_service_id=service.local_id,
        local_resource_id=resource,
        start_at=start,
        end_at=end,
        price_minor=service.price_minor + 55,  # an amount with pence: 45.5 style on the wire
        currency=store.currency,
    )
    return store, booking.local_id


def _pusher(central: Central, store: LocationStore, api_key: str | None = None) -> OneBookingPusher:
    key = central.key(SALFORD) if api_key is None else api_key
    return OneBookingPusher(store, gateway_url=central.url, api_key=key, website=SALFORD, retry_delays=())


BOOKING = """query($id: ID!) { booking(id: $id) {
  localId status startAt endAt notes price { minorUnits currency }
  serviceLocation { networkId } customer { email } service { name } } }"""


@pytest.mark.asyncio
async def test_pushed_booking_is_created_in_the_gateway(central: Central) -> None:
    store, local_id = await _salford_website(central, seed=1)
    response = await _pusher(central, store).push(local_id, "booking.created")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["message"] == "Booking synced successfully"
    made = store.bookings[local_id]
    result = central.graphql(BOOKING, {"id": to_global_id("Booking", body["booking_id"])})
    assert result["data"]["booking"] == {
        "localId": local_id,
        "status": "CONFIRMED",
        "startAt": made.start_at.astimezone(UTC).isoformat(),
        "endAt": made.end_at.astimezone(UTC).isoformat(),
        "notes": "",
        "price": {"minorUnits": made.price_minor, "currency": "GBP"},
        "serviceLocation": {"networkId": SALFORD},
        "customer": {"email": "Ada.Push1@Example.com"},
        "service": {"name": store.services[made.local_service_id].name},
    }


@pytest.mark.asyncio
async def test_pushing_a_created_booking_again_is_a_duplicate(central: Central) -> None:
    store, local_id = await _salford_website(central, seed=2)
    first = await _pusher(central, store).push(local_id, "booking.created")
    assert first.status_code == 200, first.text
    again = await _pusher(central, store).push(local_id, "booking.created")
    assert again.status_code == 409
    assert again.json() == {
        "success": False,
        "error": "Booking already exists (use an update event)",
        "code": "DUPLICATE_BOOKING",
    }


@pytest.mark.asyncio
async def test_cancellation_pushed_later_updates_the_same_booking(central: Central) -> None:
    store, local_id = await _salford_website(central, seed=3)
    created = await _pusher(central, store).push(local_id, "booking.created")
    store.cancel_booking(key=None, local_id=local_id)
    cancelled = await _pusher(central, store).push(local_id, "booking.cancelled")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["booking_id"] == created.json()["booking_id"]
    result = central.graphql(BOOKING, {"id": to_global_id("Booking", created.json()["booking_id"])})
    assert result["data"]["booking"]["status"] == "CANCELLED"


@pytest.mark.asyncio
@pytest.mark.parametrize("presented", ["none", "empty", "made-up", "another-kinds-key"])
async def test_push_without_a_website_key_is_auth_failed(central: Central, presented: str) -> None:
    store, local_id = await _salford_website(central, seed=4)
    body = _pusher(central, store).payload(local_id, "booking.created")
    keys = {"empty": "", "made-up": "gwk_not-a-website", "another-kinds-key": central.key(MANCHESTER)}
    headers = {"X-API-Key": keys[presented]} if presented in keys else {}
    response = await _post(central, body, headers)
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_FAILED"
    assert response.json()["success"] is False
    assert await _bookings_with_local_id(central, local_id) == 0


async def _post(central: Central, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=central.url) as client:
        return await client.post(SYNC_PATH, json=body, headers=headers)


async def _bookings_with_local_id(central: Central, local_id: str) -> int:
    engine = create_engine(central.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(Booking).where(Booking.local_booking_id == local_id)
            )
            customers = await connection.scalar(
                select(func.count()).select_from(Customer).where(func.lower(Customer.email).like("%bad.push%"))
            )
    finally:
        await engine.dispose()
    return int(count or 0) + int(customers or 0)


BAD_PAYLOADS: dict[str, Callable[[dict[str, Any]], None]] = {
    "missing-activity-date": lambda body: body.pop("activity_date"),
    "unknown-event": lambda body: body.update(event="booking.exploded"),
    "time-slot-not-hh-mm": lambda body: body.update(time_slot="25:00"),
    "negative-amount": lambda body: body.update(total_amount=-1),
    "more-decimals-than-pence": lambda body: body.update(total_amount=45.555),
    "other-currency": lambda body: body.update(currency="THB"),
    "no-way-to-reach-the-customer": lambda body: body["customer"].update(email=None, phone=None),
    "not-a-package-here": lambda body: body.update(package_name="Zorbing Deluxe"),
    "clock-change-gap": lambda body: body.update(activity_date="2031-03-30", time_slot="01:30"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("change", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
async def test_bad_payload_is_invalid_and_writes_nothing(
    central: Central, change: Callable[[dict[str, Any]], None]
) -> None:
    store, local_id = await _salford_website(central, seed=5)
    body = _pusher(central, store).payload(local_id, "booking.created")
    body["customer"]["email"] = "bad.push@example.com"
    change(body)
    response = await _post(central, body, {"X-API-Key": central.key(SALFORD)})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "INVALID_PAYLOAD"
    assert response.json()["success"] is False
    assert await _bookings_with_local_id(central, local_id) == 0


def test_body_that_is_not_json_is_invalid(central: Central) -> None:
    response = httpx.post(
        f"{central.url}{SYNC_PATH}", content=b"{not json", headers={"X-API-Key": central.key(SALFORD)}
    )
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "the body is not JSON", "code": "INVALID_PAYLOAD"}


@pytest.mark.asyncio
async def test_unexpected_failure_is_a_server_error_without_details(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, local_id = await _salford_website(central, seed=6)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("shims.onebooking.push.apply_inbound", broken)
    response = await _pusher(central, store).push(local_id, "booking.created")
    assert response.status_code == 500
    assert response.json()["code"] == "SERVER_ERROR"
    assert "secret internals" not in response.text and "Traceback" not in response.text


BOOKING_EVENTS = """subscription Bookings($location: ID) {
  bookingEvents(locationId: $location) { bookingId change status serviceLocationId booking { id status } } }"""


def _subscribers(central: Central, topic: str) -> int:
    async def count() -> int:
        return int(central.app.state.services.bus.subscriber_count(topic))

    return central.run(count())


@pytest.mark.asyncio
async def test_a_push_reaches_a_booking_events_subscriber(central: Central) -> None:
    store, local_id = await _salford_website(central, seed=7)
    before = _subscribers(central, "booking.changed")
    with GraphQLSocket(central.url, token=central.admin_token) as subscriber:
        operation = subscriber.subscribe(BOOKING_EVENTS, {"location": f"Location:{SALFORD}"})
        wait_for(lambda: _subscribers(central, "booking.changed") == before + 1, 5, "the subscription")

        created = await _pusher(central, store).push(local_id, "booking.created")
        assert created.status_code == 200, created.text
        booking_id = to_global_id("Booking", created.json()["booking_id"])
        event = subscriber.next(operation, seconds=5.0)["bookingEvents"]
        assert event == {
            "bookingId": booking_id,
            "change": "CREATED",
            "status": "CONFIRMED",
            "serviceLocationId": f"Location:{SALFORD}",
            "booking": {"id": booking_id, "status": "CONFIRMED"},
        }

        store.cancel_booking(key=None, local_id=local_id)
        cancelled = await _pusher(central, store).push(local_id, "booking.cancelled")
        assert cancelled.status_code == 200, cancelled.text
        event = subscriber.next(operation, seconds=5.0)["bookingEvents"]
        assert (event["bookingId"], event["change"], event["status"]) == (booking_id, "SYNCED", "CANCELLED")
        assert event["booking"] == {"id": booking_id, "status": "CANCELLED"}


@pytest.mark.asyncio
async def test_a_customer_new_in_a_push_is_shared_with_every_location_that_takes_customers(central: Central) -> None:
    # The network's rules (share_new_customers, on by default): a customer first seen at one
    # location goes to every other location the gateway can write customers at, through the outbox.
    rules = central.app.state.services.sync.rules
    assert rules.share_new_customers
    store, local_id = await _salford_website(central, seed=8)
    email = store.customers[store.bookings[local_id].local_customer_id].email
    assert email is not None

    response = await _pusher(central, store).push(local_id, "booking.created")
    assert response.status_code == 200, response.text

    def knowing() -> set[str]:
        stores: dict[str, LocationStore] = central.app.state.simulators.stores
        return {
            location_id
            for location_id, other in stores.items()
            if any((customer.email or "").lower() == email.lower() for customer in list(other.customers.values()))
        }

    takers = {
        "manchester-central",
        "stockport-merseyway",
        "leeds-headingley",
        "dublin-ranelagh",
        "manchester-piccadilly-hotel",  # the hotel's PMS takes guests too
    }
    assert {location_id for location_id in takers if rules.writable(location_id)} == takers
    wait_for(lambda: knowing() == takers, 10, f"{email} at {sorted(takers)}")


@pytest.mark.asyncio
async def test_a_push_writes_through_the_apps_one_cache_writer_under_its_rules(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = central.app.state.services
    holders = [services.sync, services.refresher, services.deliverer]
    assert all(holder.writer is services.writer for holder in holders)
    made: list[CacheWriter] = []
    applied: list[tuple[CacheWriter, ApplyRules | None]] = []
    make_writer = CacheWriter.__init__

    def counted(self: CacheWriter, engine: AsyncEngine) -> None:
        made.append(self)
        make_writer(self, engine)

    async def apply(writer: CacheWriter, location_id: str, **kwargs: Any) -> ApplyResult:
        applied.append((writer, kwargs.get("rules")))
        return await apply_location_changes(writer, location_id, **kwargs)

    monkeypatch.setattr(CacheWriter, "__init__", counted)
    monkeypatch.setattr("sync.apply.inbound.apply_location_changes", apply)
    store, local_id = await _salford_website(central, seed=9)
    response = await _pusher(central, store).push(local_id, "booking.created")
    assert response.status_code == 200, response.text
    assert made == []
    assert len(applied) == 1
    writer, rules = applied[0]
    assert writer is services.writer
    assert rules is services.sync.rules
