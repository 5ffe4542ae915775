"""Live refresh on PostgreSQL: every location refreshed at once never deadlocks on the customers they share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from conftest import RunningGateway, ThrowawayPostgres, start_gateway, stop_gateway
from settings import Settings
from sources.cache.database import create_engine
from sources.cache.models import RefreshMark

CUSTOMERS_LIVE = "{ customers(first: 1, maxAge: 0) { totalCount } }"


async def _forget_refresh_marks(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(RefreshMark))
    finally:
        await engine.dispose()


@pytest.fixture
def restarted_without_marks() -> Iterator[RunningGateway]:
    """A demo gateway on PostgreSQL started again with `refresh_marks` empty: every location is refreshed at once."""
    database = ThrowawayPostgres()
    database.create()
    # Only the refreshes write (no scheduled pulls beside them), and their deadline is far: this is about locks,
    # not about how long seven locations take on a loaded machine.
    settings = Settings(
        database_url=database.url, demo_network=True, sync_scheduler=False, live_refresh_deadline_seconds=60
    )
    try:
        first = start_gateway(settings)
        stop_gateway(first)
        asyncio.run(_forget_refresh_marks(database.url))
        running = start_gateway(settings)
        try:
            yield running
        finally:
            stop_gateway(running)
    finally:
        database.drop()


def _change_every_customer(gateway: RunningGateway) -> None:
    """Every location edits every customer it knows, each in its own order (the next refresh updates them all)."""
    for n, location_id in enumerate(sorted(gateway.app.state.simulators.stores)):
        store = gateway.store(location_id)
        customers = sorted(store.customers.values(), key=lambda customer: customer.email or "")
        for customer in customers if n % 2 else reversed(customers):
            customer.phone = f"+3531555{n:04d}"
            store.touch(customer)


def test_a_live_read_of_every_location_at_once_does_not_deadlock_on_postgresql(
    restarted_without_marks: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sources.cache.writer")
    for _ in range(3):
        _change_every_customer(restarted_without_marks)
        answer = restarted_without_marks.graphql(CUSTOMERS_LIVE)
        assert "errors" not in answer, answer
        assert answer["data"]["customers"]["totalCount"] > 0
        live = answer["extensions"]["freshness"]
        assert all(entry["customers"]["error"] is None for entry in live.values()), live
    # Not even once did one refresh run into another and have to be run again: they lock rows in one order.
    assert [r.message for r in caplog.records if "ran into a concurrent writer" in r.getMessage()] == []
