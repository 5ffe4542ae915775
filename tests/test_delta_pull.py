"""Delta pulls and version tokens, connector against each real simulator over HTTP.

Each kind of location serves its changes in its own style (BookingX POST /sync pages,
the platform's /v1/changes feed, the PMS's /sync feeds); every connector answers the
same `pull_changes` contract: records ordered by (updated_at, key) strictly after a
cursor, so paging never skips or repeats, and what changes later shows up from the
cursor the last pull left. Writes naming a stale version are refused with STALE_VERSION.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio

from devnet.simulators.bookingx import bookingx_app, bookingx_local_ids
from devnet.simulators.platform import platform_app, platform_local_ids
from devnet.simulators.pms import pms_app, pms_local_ids
from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService, StoredStock
from sources.connectors.base import Connector, ConnectorConfig
from sources.connectors.bookingx import BookingXConnector
from sources.connectors.errors import OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.onebooking import OneBookingConnector
from sources.connectors.platform import PlatformConnector
from sources.connectors.pms import PmsConnector
from sources.connectors.records import (
    ChangePage,
    Cursor,
    CustomerDetails,
    EntityType,
    RemoteBooking,
    RemoteCustomer,
    RemoteRecord,
    RemoteResource,
    RemoteStockLevel,
)

pytestmark = pytest.mark.asyncio

R = TypeVar("R")
KINDS = ("bookingx", "platform", "pms")
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)  # before any change a test makes
DAY = datetime(2031, 3, 4, tzinfo=UTC)  # a Tuesday; Dublin is on UTC then
SECRET = "s3cret-for-the-delta-pull-tests-32-bytes+"


class WireLog(httpx.AsyncBaseTransport):
    """Real HTTP, noting each answer as it came off the wire (before httpx decodes it)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.answers: list[tuple[str, str | None, bytes]] = []  # path, content-encoding, raw body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        self.answers.append((request.url.path, response.headers.get("content-encoding"), raw))
        return httpx.Response(response.status_code, headers=response.headers, content=raw)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Site:
    kind: str
    store: LocationStore
    location: SimulatedLocation
    connector: Connector
    wire: WireLog = field(default_factory=WireLog)

    def stay(self, day: int) -> tuple[datetime, datetime]:
        """A booking's times `day` days after DAY, as this kind of location books them."""
        start = DAY + timedelta(days=day)
        if self.kind == "pms":  # a night: check-in 15:00, check-out 11:00 the next day
            return start + timedelta(hours=15), start + timedelta(days=1, hours=11)
        return start + timedelta(hours=10), start + timedelta(hours=10, minutes=30)


def build_store(kind: str) -> LocationStore:
    ids = {"bookingx": bookingx_local_ids, "platform": platform_local_ids, "pms": pms_local_ids}[kind](5)
    store = LocationStore("dublin", timezone="Europe/Dublin", currency="EUR", opening_hours=None, new_id=ids)
    store.services["SV-1"] = StoredService("SV-1", "Standard", "room", "std", 30, 1000, "EUR")
    resource_kind = "room" if kind == "pms" else "staff"
    for local_id in ("R-1", "R-2"):
        store.resources[local_id] = StoredResource(
            local_id, resource_kind, f"Res {local_id}", "", "std", updated_at=LONG_AGO
        )
    return store


async def start_site(kind: str) -> Site:
    store = build_store(kind)
    wire = WireLog()
    if kind == "bookingx":
        app = bookingx_app(store, node_id="dublin", api_key="key", api_secret=SECRET)
        credentials, extra = {"api_key": "key", "api_secret": SECRET}, dict[str, Any]()
    elif kind == "platform":
        app = platform_app(store, client_id="gw", client_secret=SECRET, rate_limit_per_second=1000, burst=1000)
        credentials, extra = {"client_id": "gw", "client_secret": SECRET}, {}
    else:
        app = pms_app(store, hotel_id="17", api_key="key", jwt_secret=SECRET)
        credentials, extra = {"api_key": "key"}, {"hotel_id": "17", "timezone": "Europe/Dublin"}
    location = SimulatedLocation("dublin", app)
    await location.start()
    config = ConnectorConfig("dublin", kind, location.url, credentials, max_attempts=1, extra=extra)
    connectors: dict[str, Callable[..., Connector]] = {
        "bookingx": BookingXConnector,
        "platform": PlatformConnector,
        "pms": PmsConnector,
    }
    return Site(kind, store, location, connectors[kind](config, transport=wire), wire)


@pytest_asyncio.fixture(params=KINDS)
async def site(request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    started = await start_site(request.param)
    yield started
    await started.connector.aclose()
    await started.location.stop()


def add_customers(store: LocationStore, count: int, at: Callable[[int], datetime], prefix: str = "C-") -> list[str]:
    ids = [f"{prefix}{n:03d}" for n in range(count)]
    for n, local_id in enumerate(ids):
        store.customers[local_id] = StoredCustomer(local_id, f"First{n}", f"Last{n}", f"c{n}@example.ie", None)
        store.customers[local_id].updated_at = at(n)
    return ids


def add_booking(site: Site, local_id: str, customer_id: str, day: int) -> None:
    start, end = site.stay(day)
    site.store.bookings[local_id] = StoredBooking(
        local_id, customer_id, "SV-1", "R-1", start, end, "confirmed", 1000, "EUR", updated_at=LONG_AGO
    )


async def pull_all(
    connector: Connector, entity_type: EntityType, limit: int, after: Cursor | None = None
) -> tuple[list[RemoteRecord], Cursor | None, list[ChangePage]]:
    """Every page from `after` on; the cursor the last page left."""
    pages: list[ChangePage] = []
    while len(pages) < 100:
        page = await connector.pull_changes(entity_type, after, limit)
        pages.append(page)
        after = page.next_cursor
        if not page.has_more:
            return [record for p in pages for record in p.records], after, pages
    raise AssertionError("still has_more after 100 pages")


def key_of(record: RemoteRecord) -> str:
    return record.sku if isinstance(record, RemoteStockLevel) else record.local_id


def of_type(kind: type[R], records: list[RemoteRecord]) -> list[R]:
    assert all(isinstance(record, kind) for record in records), records
    return [record for record in records if isinstance(record, kind)]


async def rejected(call: Awaitable[object]) -> RejectionCode:
    with pytest.raises(UpstreamRejected) as refusal:
        await call
    return refusal.value.code


def details(first: str, email: str) -> CustomerDetails:
    return CustomerDetails("cus_global", first, "Last", email, None)


# -- paging ------------------------------------------------------------------------------------
async def test_paging_in_batches_returns_every_record_exactly_once_in_order(site: Site) -> None:
    ids = add_customers(site.store, 23, lambda n: LONG_AGO + timedelta(minutes=n))
    records, cursor, pages = await pull_all(site.connector, EntityType.CUSTOMERS, 5)
    assert [len(p.records) for p in pages] == [5, 5, 5, 5, 3]
    assert [p.has_more for p in pages] == [True, True, True, True, False]
    assert [key_of(r) for r in records] == ids  # each once, oldest first
    assert cursor == Cursor(LONG_AGO + timedelta(minutes=22), ids[-1])


async def test_records_sharing_a_timestamp_across_page_boundaries_are_neither_skipped_nor_repeated(
    site: Site,
) -> None:
    # Ten customers at one instant between two others: pages of 3 cut the tie group three times.
    same = LONG_AGO + timedelta(hours=1)
    add_customers(site.store, 10, lambda n: same, prefix="T-")
    add_customers(site.store, 1, lambda n: LONG_AGO, prefix="A-")
    add_customers(site.store, 1, lambda n: same + timedelta(microseconds=1), prefix="Z-")
    records, _, pages = await pull_all(site.connector, EntityType.CUSTOMERS, 3)
    keys = [key_of(r) for r in records]
    assert keys == ["A-000", *(f"T-{n:03d}" for n in range(10)), "Z-000"]
    assert len(pages) == 4


async def test_a_change_after_a_pull_arrives_from_the_stored_cursor_and_nothing_old_comes_again(site: Site) -> None:
    ids = add_customers(site.store, 6, lambda n: LONG_AGO + timedelta(seconds=n))
    add_booking(site, "BK-1", ids[0], 1)
    add_booking(site, "BK-2", ids[1], 2)
    _, customers_cursor, _ = await pull_all(site.connector, EntityType.CUSTOMERS, 4)
    _, bookings_cursor, _ = await pull_all(site.connector, EntityType.BOOKINGS, 4)

    site.store.edit_customer(ids[2], email="new@example.ie")  # the site's own staff, through no API
    site.store.edit_booking("BK-1", notes="window seat")
    changed_customers, next_cursor, _ = await pull_all(site.connector, EntityType.CUSTOMERS, 4, customers_cursor)
    changed_bookings, _, _ = await pull_all(site.connector, EntityType.BOOKINGS, 4, bookings_cursor)

    assert [(key_of(c), c.email, c.version) for c in of_type(RemoteCustomer, changed_customers)] == [
        (ids[2], "new@example.ie", 2)
    ]
    assert [(key_of(b), b.notes, b.version) for b in of_type(RemoteBooking, changed_bookings)] == [
        ("BK-1", "window seat", 2)
    ]
    again = await site.connector.pull_changes(EntityType.CUSTOMERS, next_cursor, 4)
    assert (again.records, again.next_cursor, again.has_more) == ([], next_cursor, False)


async def test_deleted_records_are_missing_from_a_full_pull(site: Site) -> None:
    ids = add_customers(site.store, 4, lambda n: LONG_AGO + timedelta(seconds=n))
    add_booking(site, "BK-1", ids[0], 1)
    add_booking(site, "BK-2", ids[1], 2)
    site.store.delete_customer(ids[3])
    site.store.delete_booking("BK-2")
    customers, _, _ = await pull_all(site.connector, EntityType.CUSTOMERS, 10)
    bookings, _, _ = await pull_all(site.connector, EntityType.BOOKINGS, 10)
    assert [key_of(c) for c in customers] == ids[:3]
    assert [key_of(b) for b in bookings] == ["BK-1"]


async def test_resources_come_with_versions_and_lent_in_staff_are_left_to_their_owner(site: Site) -> None:
    site.store.resources["res_other_9"] = StoredResource("res_other_9", "staff", "Lent", "", "std", owned=False)
    resources, _, _ = await pull_all(site.connector, EntityType.RESOURCES, 1)
    assert [(key_of(r), r.version, r.updated_at) for r in of_type(RemoteResource, resources)] == [
        ("R-1", 1, LONG_AGO),
        ("R-2", 1, LONG_AGO),
    ]


# -- versions ----------------------------------------------------------------------------------
async def test_versions_bump_on_every_change_whoever_makes_it(site: Site) -> None:
    (local_id,) = add_customers(site.store, 1, lambda n: LONG_AGO)
    add_booking(site, "BK-1", local_id, 1)
    ack = await site.connector.upsert_customer(local_id, details("Una", "una@example.ie"), "k-1")
    assert ack.version == 2
    site.store.edit_customer(local_id, phone="+353 1 555 0101")
    (pulled,) = of_type(RemoteCustomer, (await site.connector.pull_changes(EntityType.CUSTOMERS, None, 10)).records)
    assert (pulled.version, pulled.first_name, pulled.phone) == (3, "Una", "+353 1 555 0101")

    moved = await site.connector.reschedule_booking("BK-1", *site.stay(3), None, "k-2")
    cancelled = await site.connector.cancel_booking("BK-1", "", "k-3")
    assert (moved.version, cancelled.version) == (2, 3)
    assert site.store.bookings["BK-1"].version == 3


async def test_a_write_naming_a_stale_version_is_refused_and_changes_nothing(site: Site) -> None:
    (local_id,) = add_customers(site.store, 1, lambda n: LONG_AGO)
    add_booking(site, "BK-1", local_id, 1)
    site.store.edit_customer(local_id, first_name="Edited at the desk")  # now version 2
    site.store.edit_booking("BK-1", notes="moved by phone")
    customer_before, booking_before = [
        (dict(vars(record))) for record in (site.store.customers[local_id], site.store.bookings["BK-1"])
    ]

    stale = site.connector.upsert_customer(local_id, details("Gateway", "gw@example.ie"), "k-1", expected_version=1)
    assert await rejected(stale) is RejectionCode.STALE_VERSION
    move = site.connector.reschedule_booking("BK-1", *site.stay(3), None, "k-2", expected_version=1)
    assert await rejected(move) is RejectionCode.STALE_VERSION
    cancel = site.connector.cancel_booking("BK-1", "", "k-3", expected_version=1)
    assert await rejected(cancel) is RejectionCode.STALE_VERSION
    assert vars(site.store.customers[local_id]) == customer_before
    assert vars(site.store.bookings["BK-1"]) == booking_before

    # Naming the version the location has goes through.
    ack = await site.connector.upsert_customer(local_id, details("Gateway", "gw@example.ie"), "k-4", expected_version=2)
    assert (ack.version, site.store.customers[local_id].first_name) == (3, "Gateway")
    cancelled = await site.connector.cancel_booking("BK-1", "", "k-5", expected_version=2)
    assert (cancelled.status, cancelled.version) == ("cancelled", 3)


async def test_a_replayed_write_answers_as_first_applied_even_after_the_version_moved(site: Site) -> None:
    (local_id,) = add_customers(site.store, 1, lambda n: LONG_AGO)
    first = await site.connector.upsert_customer(local_id, details("Una", "u@example.ie"), "k-1", expected_version=1)
    site.store.edit_customer(local_id, phone="+353 1 555 0102")
    again = await site.connector.upsert_customer(local_id, details("Una", "u@example.ie"), "k-1", expected_version=1)
    assert again == first and site.store.customers[local_id].version == 3


# -- what only some locations have -------------------------------------------------------------
async def test_bookingx_stock_is_pulled_with_versions_bumped_by_reservations() -> None:
    site = await start_site("bookingx")
    try:
        site.store.stock["OIL-50"] = StoredStock("OIL-50", 10, 0, 2, None, LONG_AGO)
        site.store.stock["WAX-20"] = StoredStock("WAX-20", 5, 0, 1, None, LONG_AGO)
        levels, cursor, _ = await pull_all(site.connector, EntityType.INVENTORY, 1)
        assert [(key_of(s), s.version) for s in levels] == [("OIL-50", 1), ("WAX-20", 1)]
        await site.connector.reserve_stock("WAX-20", 2, "order-1", "k-1")
        changed, _, _ = await pull_all(site.connector, EntityType.INVENTORY, 1, cursor)
        assert [(key_of(s), s.version, s.reserved) for s in of_type(RemoteStockLevel, changed)] == [("WAX-20", 2, 2)]
    finally:
        await site.connector.aclose()
        await site.location.stop()


@pytest.mark.parametrize("kind", ["bookingx", "platform"])
async def test_a_large_page_travels_gzipped_and_decodes_to_the_right_records(kind: str) -> None:
    site = await start_site(kind)
    try:
        ids = add_customers(site.store, 100, lambda n: LONG_AGO + timedelta(seconds=n))
        page = await site.connector.pull_changes(EntityType.CUSTOMERS, None, 100)
        assert [(key_of(c), c.email) for c in of_type(RemoteCustomer, page.records)] == [
            (local_id, f"c{n}@example.ie") for n, local_id in enumerate(ids)
        ]
        (path, encoding, raw) = site.wire.answers[-1]
        assert encoding == "gzip", path
        assert len(raw) * 3 < len(gzip.decompress(raw))  # really compressed on the wire
    finally:
        await site.connector.aclose()
        await site.location.stop()


@pytest.mark.parametrize("kind", ["platform", "pms"])
async def test_stock_cannot_be_pulled_where_there_is_none(kind: str) -> None:
    site = await start_site(kind)
    try:
        with pytest.raises(OperationNotSupported):
            await site.connector.pull_changes(EntityType.INVENTORY, None, 10)
    finally:
        await site.connector.aclose()
        await site.location.stop()


@pytest.mark.parametrize("entity_type", list(EntityType))
async def test_a_onebooking_website_pushes_and_cannot_be_pulled(entity_type: EntityType) -> None:
    config = ConnectorConfig(
        "salford", "onebooking", "http://127.0.0.1:9", {"webhook_secret": SECRET}, extra={"timezone": "Europe/London"}
    )
    connector = OneBookingConnector(config)
    try:
        with pytest.raises(OperationNotSupported):
            await connector.pull_changes(entity_type, None, 10)
    finally:
        await connector.aclose()
