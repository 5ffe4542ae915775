"""Load the demo booking network into an empty cache.

Five salons and studios and a hotel in four towns and two timezones, about fifty
staff, rooms and machines (some lent between neighbouring sites), twelve hotel
rooms, 500 customers, 5,000 appointments and 120 stays either side of "now",
their revenue, stock running low here and there, and a little sync activity.
The same seed and ``now`` always give the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from devnet.demo.activity import build_activity
from devnet.demo.bookings import build_bookings
from devnet.demo.customers import build_customers
from devnet.demo.hotel import build_hotel
from devnet.demo.ids import GlobalIds, Row
from devnet.demo.inventory import build_stock
from devnet.demo.network import build_network
from sources.cache.models import (
    Booking,
    ChangeLogEntry,
    Conflict,
    Customer,
    CustomerMapping,
    Location,
    OutboxMessage,
    Resource,
    ResourceShare,
    RevenueEntry,
    Service,
    StockItem,
    StockLevel,
    StockMovement,
    SyncJob,
    SyncLog,
)
from sources.cache.models.base import Base

DEFAULT_SEED = 20261121
INSERT_CHUNK_ROWS = 1000


@dataclass(frozen=True)
class DemoSummary:
    locations: int
    customers: int
    resources: int
    shared_resources: int
    services: int
    bookings: int
    cross_location_bookings: int
    stock_items: int
    low_stock_levels: int
    revenue_entries: int


def _anchor(now: datetime | None) -> datetime:
    if now is None:
        # The top of the current hour: a demo loaded today has bookings around today.
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


async def _insert(conn: AsyncConnection, model: type[Base], rows: Sequence[Row]) -> None:
    for offset in range(0, len(rows), INSERT_CHUNK_ROWS):
        await conn.execute(insert(model), list(rows[offset : offset + INSERT_CHUNK_ROWS]))


async def load_demo_network(
    engine: AsyncEngine, *, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> DemoSummary:
    """Insert the demo network into an existing, empty schema, in one transaction."""
    anchor = _anchor(now)
    rng = random.Random(seed)
    ids = GlobalIds(rng)
    network = build_network(rng, ids, anchor)
    customers = build_customers(rng, ids, anchor, network)
    bookings = build_bookings(rng, ids, anchor, network, customers.customers)
    stock = build_stock(rng, ids, anchor, network)
    activity = build_activity(rng, ids, anchor, network, customers, bookings)
    # Last, and from an RNG of its own: the rows above are the same with or without the hotel.
    hotel = build_hotel(random.Random(seed + 1), ids, anchor, customers.customers)

    # Parents before children, so foreign keys hold on PostgreSQL and on SQLite with foreign_keys=ON.
    tables: list[tuple[type[Base], Sequence[Row]]] = [
        (Location, [*network.location_rows, hotel.location_row]),
        (Resource, [*network.resource_rows, *hotel.resource_rows]),
        (ResourceShare, network.share_rows),
        (Service, [*network.service_rows, *hotel.service_rows]),
        (Customer, customers.customer_rows),
        (CustomerMapping, [*customers.mapping_rows, *hotel.mapping_rows]),
        (Booking, [*bookings.booking_rows, *hotel.booking_rows]),
        (RevenueEntry, [*bookings.revenue_rows, *hotel.revenue_rows]),
        (StockItem, stock.item_rows),
        (StockLevel, stock.level_rows),
        (StockMovement, stock.movement_rows),
        (SyncJob, [*activity.job_rows, *hotel.job_rows]),
        (SyncLog, [*activity.log_rows, *hotel.log_rows]),
        (ChangeLogEntry, activity.change_rows),
        (Conflict, activity.conflict_rows),
        (OutboxMessage, activity.outbox_rows),
    ]
    async with engine.begin() as conn:
        for model, rows in tables:
            await _insert(conn, model, rows)

    return DemoSummary(
        locations=len(network.location_rows) + 1,
        customers=len(customers.customer_rows),
        resources=len(network.resource_rows) + len(hotel.resource_rows),
        shared_resources=len({share.resource_id for share in network.shares}),
        services=len(network.service_rows) + len(hotel.service_rows),
        bookings=len(bookings.booking_rows) + len(hotel.booking_rows),
        cross_location_bookings=bookings.cross_location_count,
        stock_items=len(stock.item_rows),
        low_stock_levels=stock.low_level_count,
        revenue_entries=len(bookings.revenue_rows) + len(hotel.revenue_rows),
    )


async def cache_is_empty(engine: AsyncEngine) -> bool:
    """True when no location is cached yet: the signal to load the demo on first start."""
    async with engine.connect() as conn:
        first = await conn.scalar(select(Location.id).limit(1))
    return first is None
