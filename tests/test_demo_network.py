"""The demo network: a believable, deterministic booking network loaded into an empty cache."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sources.cache.database import create_engine
from sources.cache.models import Base, Booking, CustomerMapping
from sources.demo.generator import DemoSummary, cache_is_empty, load_demo_network

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
SEED = 7
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "test"}


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def schema_only(url: str) -> AsyncEngine:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return engine


async def load_file(path: Path) -> DemoSummary:
    engine = await schema_only(sqlite_url(path))
    try:
        return await load_demo_network(engine, seed=SEED, now=NOW)
    finally:
        await engine.dispose()


async def fetch(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    return (await fetch(engine, sql))[0][0]


async def dump_bookings(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        bookings = await conn.execute(Booking.__table__.select().order_by(Booking.id))
        mappings = await conn.execute(
            CustomerMapping.__table__.select().order_by(CustomerMapping.customer_id, CustomerMapping.location_id)
        )
        return [*bookings.all(), *mappings.all()]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    path = tmp_path_factory.mktemp("demo") / "cache.sqlite3"
    return path, asyncio.run(load_file(path))


@pytest_asyncio.fixture
async def demo(demo_file: tuple[Path, DemoSummary]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url(demo_file[0]))
    yield engine
    await engine.dispose()


@pytest.mark.asyncio
async def test_network_spans_two_timezones_with_one_hub_and_nearby_sites(demo: AsyncEngine) -> None:
    locations = await fetch(demo, "SELECT timezone, is_hub, status, latitude, longitude FROM locations")
    assert len(locations) >= 3
    assert len({row.timezone for row in locations}) >= 2
    assert sum(bool(row.is_hub) for row in locations) == 1
    assert {row.status for row in locations} == {"online", "degraded"}

    def km(a: Any, b: Any) -> float:
        dlat, dlon = math.radians(b.latitude - a.latitude), math.radians(b.longitude - a.longitude)
        h = (
            math.sin(dlat / 2) ** 2
            + math.cos(math.radians(a.latitude)) * math.cos(math.radians(b.latitude)) * math.sin(dlon / 2) ** 2
        )
        return 2 * 6371 * math.asin(math.sqrt(h))

    assert max(sum(km(a, b) <= 50 for b in locations) for a in locations) >= 3


@pytest.mark.asyncio
async def test_resources_mix_staff_rooms_and_equipment_and_some_are_shared(demo: AsyncEngine) -> None:
    kinds = dict(await fetch(demo, "SELECT kind, COUNT(*) FROM resources GROUP BY kind"))
    assert 40 <= sum(kinds.values()) <= 60
    assert set(kinds) == {"staff", "room", "equipment"} and kinds["staff"] > sum(kinds.values()) / 2
    assert 8 <= await scalar(demo, "SELECT COUNT(DISTINCT resource_id) FROM resource_shares") <= 10
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM resource_shares s JOIN resources r
        ON r.id = s.resource_id WHERE r.location_id = s.location_id""",
        )
        == 0
    )


@pytest.mark.asyncio
async def test_customers_are_known_at_several_locations_under_different_local_ids(demo: AsyncEngine) -> None:
    assert await scalar(demo, "SELECT COUNT(*) FROM customers") == 500
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1
        FROM customer_mappings m WHERE m.customer_id = c.id AND m.location_id = c.primary_location_id)""",
        )
        == 0
    )
    spread = await fetch(
        demo,
        """SELECT customer_id, COUNT(*), COUNT(DISTINCT local_customer_id)
        FROM customer_mappings GROUP BY customer_id HAVING COUNT(*) > 1""",
    )
    assert 75 <= len(spread) <= 175
    assert all(mappings == local_ids for _, mappings, local_ids in spread)


@pytest.mark.asyncio
async def test_bookings_fall_within_sixty_days_of_now_and_some_cross_locations(demo: AsyncEngine) -> None:
    async with demo.connect() as conn:
        starts = await conn.execute(Booking.__table__.select().with_only_columns(Booking.start_at))
        start_times = [row.start_at for row in starts]
    assert len(start_times) == 5000
    assert all(abs(start - NOW) <= timedelta(days=60) for start in start_times)
    cross = await scalar(demo, "SELECT COUNT(*) FROM bookings WHERE originating_location_id <> service_location_id")
    assert 500 <= cross <= 750
    # The booking's customer is known where it was booked; service and resource belong where it happens.
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM bookings b
        JOIN services s ON s.id = b.service_id JOIN resources r ON r.id = b.resource_id
        WHERE s.location_id <> b.service_location_id OR b.price_minor <> s.price_minor
           OR b.created_at >= b.start_at OR b.updated_at < b.created_at
           OR NOT EXISTS (SELECT 1 FROM customer_mappings m
                          WHERE m.customer_id = b.customer_id AND m.location_id = b.originating_location_id)
           OR (r.location_id <> b.service_location_id AND NOT EXISTS (SELECT 1 FROM resource_shares rs
                          WHERE rs.resource_id = r.id AND rs.location_id = b.service_location_id))""",
        )
        == 0
    )


@pytest.mark.asyncio
async def test_no_resource_is_double_booked(demo: AsyncEngine) -> None:
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM bookings a JOIN bookings b
        ON a.resource_id = b.resource_id AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at
        WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'""",
        )
        == 0
    )


@pytest.mark.asyncio
async def test_cross_location_revenue_adds_up_to_the_price_with_a_20_80_split(demo: AsyncEngine) -> None:
    splits = await fetch(
        demo,
        """SELECT b.price_minor,
            SUM(r.amount_minor), SUM(CASE WHEN r.role = 'originating' THEN r.share_bp END),
            SUM(CASE WHEN r.role = 'service' THEN r.share_bp END), COUNT(*)
        FROM bookings b JOIN revenue_entries r ON r.booking_id = b.id
        WHERE b.originating_location_id <> b.service_location_id AND b.status <> 'cancelled'
        GROUP BY b.id, b.price_minor""",
    )
    assert len(splits) > 400
    for price, total, originating_bp, service_bp, entries in splits:
        assert (total, originating_bp, service_bp, entries) == (price, 2000, 8000, 2)
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM bookings b WHERE (b.status = 'cancelled') =
        EXISTS (SELECT 1 FROM revenue_entries r WHERE r.booking_id = b.id)""",
        )
        == 0
    )


@pytest.mark.asyncio
async def test_enough_stock_is_low_and_movements_explain_every_level(demo: AsyncEngine) -> None:
    assert await scalar(demo, "SELECT COUNT(*) FROM stock_items") == 30
    assert await scalar(demo, "SELECT COUNT(*) FROM stock_levels WHERE quantity - reserved <= reorder_point") >= 10
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM stock_levels l WHERE l.quantity <> (SELECT SUM(m.delta)
        FROM stock_movements m WHERE m.item_id = l.item_id AND m.location_id = l.location_id)""",
        )
        == 0
    )


@pytest.mark.asyncio
async def test_degraded_location_has_a_queue_and_conflicts_wait_for_a_person(demo: AsyncEngine) -> None:
    assert (
        await scalar(
            demo,
            """SELECT COUNT(*) FROM outbox_messages o JOIN locations l ON l.id = o.location_id
        WHERE o.status = 'pending' AND l.status = 'degraded'""",
        )
        >= 3
    )
    assert 2 <= await scalar(demo, "SELECT COUNT(*) FROM conflicts WHERE status = 'pending'") <= 3
    assert await scalar(demo, "SELECT COUNT(*) FROM sync_jobs WHERE status = 'completed'") >= 5


@pytest.mark.asyncio
async def test_summary_matches_what_was_stored(demo: AsyncEngine, demo_file: tuple[Path, DemoSummary]) -> None:
    summary = demo_file[1]
    assert summary.bookings == await scalar(demo, "SELECT COUNT(*) FROM bookings")
    assert summary.revenue_entries == await scalar(demo, "SELECT COUNT(*) FROM revenue_entries")
    assert summary.shared_resources == await scalar(demo, "SELECT COUNT(DISTINCT resource_id) FROM resource_shares")
    assert summary.low_stock_levels >= 10 and summary.cross_location_bookings > 0


@pytest.mark.asyncio
async def test_cache_is_empty_until_the_demo_is_loaded(demo: AsyncEngine, tmp_path: Path) -> None:
    fresh = await schema_only(sqlite_url(tmp_path / "fresh.sqlite3"))
    try:
        assert await cache_is_empty(fresh)
    finally:
        await fresh.dispose()
    assert not await cache_is_empty(demo)


@pytest.mark.asyncio
async def test_same_seed_and_now_give_identical_rows(demo: AsyncEngine, tmp_path: Path) -> None:
    await load_file(tmp_path / "again.sqlite3")
    again = create_engine(sqlite_url(tmp_path / "again.sqlite3"))
    try:
        assert await dump_bookings(again) == await dump_bookings(demo)
    finally:
        await again.dispose()


@pytest.mark.asyncio
async def test_naive_now_is_refused(tmp_path: Path) -> None:
    engine = await schema_only(sqlite_url(tmp_path / "naive.sqlite3"))
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            await load_demo_network(engine, now=datetime(2026, 11, 21, 10))
        assert await cache_is_empty(engine)
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_loads_into_postgresql_with_the_same_rows(demo: AsyncEngine) -> None:
    try:
        admin = await asyncpg.connect(**PG_ADMIN)
    except OSError as exc:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {exc}")
    name = f"demo_{os.urandom(6).hex()}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        engine = await schema_only(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        try:
            summary = await load_demo_network(engine, seed=SEED, now=NOW)
            assert summary.bookings == await scalar(engine, "SELECT COUNT(*) FROM bookings") == 5000
            assert await dump_bookings(engine) == await dump_bookings(demo)
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
