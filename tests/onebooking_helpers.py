"""What the OneBooking central tests share: a gateway of their own over the demo network (Salford Quays is its
OneBooking website, served by the website simulator), new bookings made at the website and pushed, tokens of
each dashboard role, and counting refusals in the gateway's cache."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import httpx
from cache_helpers import count, scalar
from sqlalchemy import select

from conftest import RunningGateway, start_gateway, stop_gateway
from devnet.simulators.onebooking import OneBookingPusher, WebhookInbox, webhook_inbox
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoreError
from identity.principal import Role
from settings import Settings
from sources.cache.models import AuditEntry, Resource

SALFORD = "salford-quays"  # the demo network's OneBooking website
MANCHESTER = "manchester-central"  # a BookingX location: no website
FIRST_DAY = datetime(2031, 6, 2)
BOOKINGS = "/api/bookings"


def running_central(database_url: str) -> Iterator[RunningGateway]:
    """The demo network, its outbox quick to retry (a website that fails a delivery gets it again in moments),
    stopped when the module's tests are done: `yield from` it in a module-scoped fixture."""
    settings = Settings(
        database_url=database_url,
        demo_network=True,
        graphiql=False,
        sync_scheduler=False,
        outbox_poll_seconds=0.1,
        outbox_backoff_seconds=0.1,
        outbox_max_attempts=30,
        connector_breaker_reset_seconds=0.3,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def credential(gateway: RunningGateway, location_id: str, name: str) -> str:
    """One of the credentials the demo made for a location (`inbound_api_key`, `webhook_secret`...)."""
    return gateway.demo_credentials()[location_id][name]


def website_store(gateway: RunningGateway) -> LocationStore:
    return gateway.store(SALFORD)


def inbox(gateway: RunningGateway) -> WebhookInbox:
    return webhook_inbox(gateway.simulator(SALFORD).app.app)


def pusher(gateway: RunningGateway, api_key: str | None = None) -> OneBookingPusher:
    key = credential(gateway, SALFORD, "inbound_api_key") if api_key is None else api_key
    return OneBookingPusher(
        website_store(gateway), gateway_url=gateway.url, api_key=key, website=SALFORD, retry_delays=()
    )


def new_bookings(store: LocationStore, count: int, *, tag: str, day_offset: int) -> list[str]:
    """`count` new bookings at the website, each with a customer of its own, on free slots from FIRST_DAY +
    `day_offset` days (the website's own local time)."""
    service = next(s for s in sorted(store.services.values(), key=lambda s: s.local_id) if store.eligible_resources(s))
    made: list[str] = []
    day = FIRST_DAY.replace(tzinfo=store.zone) + timedelta(days=day_offset)
    while len(made) < count:
        for resource, start, end in store.free_slots(service.local_id, day, day + timedelta(days=1)):
            if len(made) == count:
                break
            number = len(made)
            try:
                booking = store.create_booking(
                    key=None,
                    local_customer_id=None,
                    customer={
                        "first_name": "Guest",
                        "last_name": f"{tag} {number}",
                        "email": f"{tag.replace(' ', '-').lower()}.{number}@example.com",
                    },
                    local_service_id=service.local_id,
                    local_resource_id=resource,
                    start_at=start,
                    end_at=end,
                    price_minor=service.price_minor,
                    currency=store.currency,
                )
            except StoreError:
                continue  # the slot went to a booking made a moment ago
            made.append(booking.local_id)
        day += timedelta(days=1)
    return made


async def push_all(
    website: OneBookingPusher, local_ids: Iterable[str], event: str, *, at_once: int = 10
) -> list[httpx.Response]:
    ids = list(local_ids)
    answers: list[httpx.Response] = []
    for start in range(0, len(ids), at_once):
        answers += await asyncio.gather(*(website.push(local_id, event) for local_id in ids[start : start + at_once]))
    return answers


def token(gateway: RunningGateway, role: Role, *locations: str, customer_id: str | None = None) -> str:
    """A token of `role` for these locations, as `python server.py issue-token` would issue it (a shared staff
    member is one of the first location's resources)."""
    resource_id = None
    if role is Role.SHARED_STAFF:
        resource_id = scalar(gateway, select(Resource.id).where(Resource.location_id == locations[0]).limit(1))
    authenticator = gateway.app.state.authenticator
    issued: str = gateway.run(
        authenticator.issue(
            role, subject=f"test-{role.value}", locations=locations, customer_id=customer_id, resource_id=resource_id
        )
    )
    return issued


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def refusals(gateway: RunningGateway) -> int:
    return count(gateway, AuditEntry, AuditEntry.action == "webhook.refused")
