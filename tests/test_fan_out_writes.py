"""A write fanned out to a customer's locations: each gets it, and the cache work does not grow with their number.

The outbox rows are written in one INSERT, read back in one SELECT, and the answers recorded in one transaction
whose reads are one statement per table (bench.writes measures what that is worth). A location added to the
fan-out adds an HTTP call, not SQL statements.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from test_writes import UPDATE_CUSTOMER

from conftest import RunningGateway, SqlStatementCounter
from sources.cache.models import CustomerMapping, Location, OutboxMessage, SyncState

WRITABLE_KINDS = ("bookingx", "platform", "pms")  # whose connectors write customers (a OneBooking site cannot)


async def _customers_by_reach(engine: AsyncEngine) -> dict[int, str]:
    """For each number of customer-writable locations a customer is known at, the first such customer."""
    count = func.count().label("n")
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(CustomerMapping.customer_id, count)
            .join(Location, Location.id == CustomerMapping.location_id)
            .where(Location.kind.in_(WRITABLE_KINDS))
            .group_by(CustomerMapping.customer_id)
            .order_by(CustomerMapping.customer_id)
        )
        reach: dict[int, str] = {}
        for customer_id, n in rows.all():
            reach.setdefault(int(n), str(customer_id))
        return reach


async def _delivery_rows(engine: AsyncEngine, customer_id: str) -> tuple[dict[str, str], dict[str, int]]:
    """The customer's outbox rows (location -> status of the newest) and agreed versions (location -> version)."""
    async with engine.connect() as connection:
        messages = await connection.execute(
            select(OutboxMessage.location_id, OutboxMessage.status)
            .where(OutboxMessage.entity_type == "customer", OutboxMessage.entity_id == customer_id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        statuses = {location_id: status for location_id, status in messages.all()}
        states = await connection.execute(
            select(SyncState.location_id, SyncState.remote_version).where(
                SyncState.entity_type == "customer", SyncState.entity_id == customer_id
            )
        )
        return statuses, {location_id: int(version) for location_id, version in states.all()}


def _update(gateway: RunningGateway, customer_id: str) -> tuple[str, dict[str, Any]]:
    email = f"fan-out-{uuid.uuid4().hex[:8]}@example.com"
    variables = {"input": {"idempotencyKey": uuid.uuid4().hex, "customerId": f"Customer:{customer_id}", "email": email}}
    payload: dict[str, Any] = gateway.graphql(UPDATE_CUSTOMER, variables)["data"]["updateCustomer"]
    assert payload["errors"] == [], payload
    return email, payload


def _statements_of_update(gateway: RunningGateway, customer_id: str) -> tuple[int, dict[str, Any]]:
    counter = SqlStatementCounter(gateway.engine)
    try:
        _, payload = _update(gateway, customer_id)
    finally:
        event.remove(gateway.engine.sync_engine, "before_cursor_execute", counter._on_execute)
    return counter.count, payload


def test_a_fan_out_reaches_every_location_and_records_each_answer(live_gateway: RunningGateway) -> None:
    reach = live_gateway.run(_customers_by_reach(live_gateway.engine))
    widest = max(reach)
    assert widest >= 3, reach
    customer_id = reach[widest]
    _, before = live_gateway.run(_delivery_rows(live_gateway.engine, customer_id))

    email, payload = _update(live_gateway, customer_id)

    statuses = {outcome["locationId"].split(":", 1)[1]: outcome["status"] for outcome in payload["outcomes"]}
    assert len(statuses) == widest
    assert set(statuses.values()) == {"DELIVERED"}
    rows, after = live_gateway.run(_delivery_rows(live_gateway.engine, customer_id))
    assert {location_id: rows[location_id] for location_id in statuses} == dict.fromkeys(statuses, "delivered")
    for location_id in statuses:
        known = [c for c in live_gateway.store(location_id).customers.values() if c.global_id == customer_id]
        assert [c.email for c in known] == [email]
        # The version each location answered is what the gateway now expects of it (one agreement per location).
        assert after[location_id] == known[0].version
        assert after[location_id] != before.get(location_id)


def test_a_fan_out_to_more_locations_sends_no_more_sql(live_gateway: RunningGateway) -> None:
    reach = live_gateway.run(_customers_by_reach(live_gateway.engine))
    widest = max(reach)
    assert 2 in reach and widest >= 4, reach
    narrow, wide = reach[2], reach[widest]
    for customer_id in (narrow, wide):  # every location has agreed a version with the gateway, as in steady state
        _update(live_gateway, customer_id)

    narrow_statements, narrow_payload = _statements_of_update(live_gateway, narrow)
    wide_statements, wide_payload = _statements_of_update(live_gateway, wide)

    assert [o["status"] for o in narrow_payload["outcomes"]] == ["DELIVERED"] * 2
    assert [o["status"] for o in wide_payload["outcomes"]] == ["DELIVERED"] * widest
    assert wide_statements == narrow_statements, (narrow_statements, wide_statements)
