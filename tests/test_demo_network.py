"""The demo network: a believable, deterministic booking network loaded into an empty cache."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from devnet.demo.generator import cache_is_empty, load_demo_network
from devnet.demo.hotel import HOTEL_ID, STAY_COUNT
from devnet.demo.network import distance_km
from sources.cache.database import create_engine
from sources.cache.models import Base, Booking, CustomerMapping

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SEED = 7
SALONS = f"location_id <> '{HOTEL_ID}'"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@asynccontextmanager
async def opened(url: str, *, create_schema: bool = False) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        if create_schema:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


async def load_file(path: Path) -> None:
    async with opened(sqlite_url(path), create_schema=True) as engine:
        await load_demo_network(engine, seed=SEED, now=NOW)


async def fetch(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    return (await fetch(engine, sql))[0][0]


async def dump_bookings_and_mappings(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        bookings = await conn.execute(Booking.__table__.select().order_by(Booking.id))
        mappings = await conn.execute(CustomerMapping.__table__.select().order_by(CustomerMapping.id))
        return [*bookings.all(), *mappings.all()]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "cache.sqlite3"
    asyncio.run(load_file(path))
    return path


@pytest_asyncio.fixture
async def demo(demo_file: Path) -> AsyncIterator[AsyncEngine]:
    async with opened(sqlite_url(demo_file)) as engine:
        yield engine


@pytest.mark.asyncio
async def test_network_spans_two_timezones_with_one_hub_and_nearby_sites(demo: AsyncEngine) -> None:
    locations = await fetch(demo, "SELECT timezone, is_hub, status, latitude, longitude FROM locations")
    assert len(locations) >= 3
    assert len({row.timezone for row in locations}) >= 2
    assert sum(bool(row.is_hub) for row in locations) == 1
    assert {row.status for row in locations} == {"online", "degraded"}
    nearby = [
        sum(distance_km(a.latitude, a.longitude, b.latitude, b.longitude) <= 50 for b in locations) for a in locations
    ]
    assert max(nearby) >= 3


@pytest.mark.asyncio
async def test_resources_mix_staff_rooms_and_equipment_and_some_are_shared(demo: AsyncEngine) -> None:
    kinds = dict(await fetch(demo, f"SELECT kind, COUNT(*) FROM resources WHERE {SALONS} GROUP BY kind"))
    assert 40 <= sum(kinds.values()) <= 60
    assert set(kinds) == {"staff", "room", "equipment"} and kinds["staff"] > sum(kinds.values()) / 2
    assert 8 <= await scalar(demo, "SELECT COUNT(DISTINCT resource_id) FROM resource_shares") <= 10
    sql = """SELECT COUNT(*) FROM resource_shares s JOIN resources r
        ON r.id = s.resource_id WHERE r.location_id = s.location_id"""
    assert await scalar(demo, sql) == 0


@pytest.mark.asyncio
async def test_customers_are_known_at_several_locations_under_different_local_ids(demo: AsyncEngine) -> None:
    assert await scalar(demo, "SELECT COUNT(*) FROM customers") == 500
    sql = """SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1
        FROM customer_mappings m WHERE m.customer_id = c.id AND m.location_id = c.primary_location_id)"""
    assert await scalar(demo, sql) == 0
    sql = f"""SELECT customer_id, COUNT(*), COUNT(DISTINCT local_customer_id)
        FROM customer_mappings WHERE {SALONS} GROUP BY customer_id HAVING COUNT(*) > 1"""
    spread = await fetch(demo, sql)
    assert 75 <= len(spread) <= 175
    assert all(mappings == local_ids for _, mappings, local_ids in spread)


@pytest.mark.asyncio
async def test_bookings_fall_within_sixty_days_of_now_and_some_cross_locations(demo: AsyncEngine) -> None:
    async with demo.connect() as conn:
        starts = await conn.execute(Booking.__table__.select().with_only_columns(Booking.start_at))
        start_times = [row.start_at for row in starts]
    assert len(start_times) == 5000 + STAY_COUNT
    assert all(abs(start - NOW) <= timedelta(days=60) for start in start_times)
    cross = await scalar(demo, "SELECT COUNT(*) FROM bookings WHERE originating_location_id <> service_location_id")
    assert 500 <= cross <= 750
    # The booking's customer is known where it was booked; service and resource belong where it happens; a
    # stay costs its nights at the room type's rate.
    sql = """SELECT COUNT(*) FROM bookings b
        JOIN services s ON s.id = b.service_id JOIN resources r ON r.id = b.resource_id
        WHERE s.location_id <> b.service_location_id
           OR (s.category <> 'room' AND b.price_minor <> s.price_minor)
           OR (s.category = 'room' AND b.price_minor % s.price_minor <> 0)
           OR b.created_at >= b.start_at OR b.updated_at < b.created_at
           OR NOT EXISTS (SELECT 1 FROM customer_mappings m
                          WHERE m.customer_id = b.customer_id AND m.location_id = b.originating_location_id)
           OR (r.location_id <> b.service_location_id AND NOT EXISTS (SELECT 1 FROM resource_shares rs
                          WHERE rs.resource_id = r.id AND rs.location_id = b.service_location_id))"""
    assert await scalar(demo, sql) == 0


@pytest.mark.asyncio
async def test_the_hotel_has_room_types_rooms_guests_and_stays_from_check_in_to_check_out(demo: AsyncEngine) -> None:
    rooms = await fetch(demo, f"SELECT skill, COUNT(*) FROM resources WHERE location_id = '{HOTEL_ID}' GROUP BY skill")
    assert dict(rooms) == {"DBL": 6, "TWN": 4, "STE": 2}
    room_types = await fetch(demo, f"SELECT category, duration_minutes FROM services WHERE location_id = '{HOTEL_ID}'")
    assert set(room_types) == {("room", 20 * 60)}
    assert await scalar(demo, f"SELECT COUNT(*) FROM customer_mappings WHERE location_id = '{HOTEL_ID}'") == 80
    async with demo.connect() as conn:
        stays = (await conn.execute(Booking.__table__.select().where(Booking.service_location_id == HOTEL_ID))).all()
    assert len(stays) == STAY_COUNT
    for stay in stays:
        nights = (stay.end_at - stay.start_at + timedelta(hours=4)) / timedelta(days=1)
        assert 1 <= round(nights) <= 4 and stay.start_at.minute == 0 and stay.created_at < stay.start_at


@pytest.mark.asyncio
async def test_no_resource_is_double_booked(demo: AsyncEngine) -> None:
    sql = """SELECT COUNT(*) FROM bookings a JOIN bookings b
        ON a.resource_id = b.resource_id AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at
        WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"""
    assert await scalar(demo, sql) == 0


@pytest.mark.asyncio
async def test_cross_location_revenue_adds_up_to_the_price_with_a_20_80_split(demo: AsyncEngine) -> None:
    sql = """SELECT b.price_minor,
            SUM(r.amount_minor), SUM(CASE WHEN r.role = 'originating' THEN r.share_bp END),
            SUM(CASE WHEN r.role = 'service' THEN r.share_bp END), COUNT(*)
        FROM bookings b JOIN revenue_entries r ON r.booking_id = b.id
        WHERE b.originating_location_id <> b.service_location_id AND b.status <> 'cancelled'
        GROUP BY b.id, b.price_minor"""
    splits = await fetch(demo, sql)
    assert len(splits) > 400
    for price, total, originating_bp, service_bp, entries in splits:
        assert (total, originating_bp, service_bp, entries) == (price, 2000, 8000, 2)
    sql = """SELECT COUNT(*) FROM bookings b WHERE (b.status = 'cancelled') =
        EXISTS (SELECT 1 FROM revenue_entries r WHERE r.booking_id = b.id)"""
    assert await scalar(demo, sql) == 0


@pytest.mark.asyncio
async def test_enough_stock_is_low_and_movements_explain_every_level(demo: AsyncEngine) -> None:
    assert await scalar(demo, "SELECT COUNT(*) FROM stock_items") == 30
    assert await scalar(demo, "SELECT COUNT(*) FROM stock_levels WHERE quantity - reserved <= reorder_point") >= 10
    sql = """SELECT COUNT(*) FROM stock_levels l WHERE l.quantity <> (SELECT SUM(m.delta)
        FROM stock_movements m WHERE m.item_id = l.item_id AND m.location_id = l.location_id)"""
    assert await scalar(demo, sql) == 0


@pytest.mark.asyncio
async def test_degraded_location_has_a_queue_and_conflicts_wait_for_a_person(demo: AsyncEngine) -> None:
    sql = """SELECT COUNT(*) FROM outbox_messages o JOIN locations l ON l.id = o.location_id
        WHERE o.status = 'pending' AND l.status = 'degraded'"""
    assert await scalar(demo, sql) >= 3
    assert 2 <= await scalar(demo, "SELECT COUNT(*) FROM conflicts WHERE status = 'pending'") <= 3
    assert await scalar(demo, "SELECT COUNT(*) FROM sync_jobs WHERE status = 'completed'") >= 5


@pytest.mark.asyncio
async def test_cache_is_empty_until_the_demo_is_loaded(demo: AsyncEngine, tmp_path: Path) -> None:
    async with opened(sqlite_url(tmp_path / "fresh.sqlite3"), create_schema=True) as fresh:
        assert await cache_is_empty(fresh)
    assert not await cache_is_empty(demo)


@pytest.mark.asyncio
async def test_same_seed_and_now_give_identical_rows(demo: AsyncEngine, tmp_path: Path) -> None:
    await load_file(tmp_path / "again.sqlite3")
    async with opened(sqlite_url(tmp_path / "again.sqlite3")) as again:
        assert await dump_bookings_and_mappings(again) == await dump_bookings_and_mappings(demo)


@pytest.mark.asyncio
async def test_naive_now_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    async with opened(sqlite_url(tmp_path / "naive.sqlite3"), create_schema=True) as engine:
        with pytest.raises(ValueError, match="timezone-aware"):
            await load_demo_network(engine, now=datetime(2026, 11, 21, 10))
        assert await cache_is_empty(engine)


@pytest.mark.asyncio
async def test_loads_into_postgresql_with_the_same_rows(demo: AsyncEngine) -> None:
    # PostgreSQL is part of the test environment (README): no skip when it is missing.
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
    name = f"demo_{os.urandom(6).hex()}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        async with opened(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", create_schema=True) as engine:
            summary = await load_demo_network(engine, seed=SEED, now=NOW)
            assert summary.bookings == await scalar(engine, "SELECT COUNT(*) FROM bookings") == 5000 + STAY_COUNT
            assert summary.revenue_entries == await scalar(engine, "SELECT COUNT(*) FROM revenue_entries")
            assert await dump_bookings_and_mappings(engine) == await dump_bookings_and_mappings(demo)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
