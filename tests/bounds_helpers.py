"""What the input-bounds tests share: a gateway of their own, the mutations they send, the demo ids they aim
at, and a snapshot of every table a refused write must leave alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pytest
from clock import session_instant
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import RunningGateway, start_gateway, stop_gateway
from settings import Settings
from sources.cache.models import (
    AuditEntry,
    Booking,
    ChangeLogEntry,
    Customer,
    CustomerMapping,
    IdempotencyRecord,
    Location,
    OutboxMessage,
    Resource,
    Service,
    StockLevel,
    StockMovement,
)

PAYLOAD = "outcomes { status code } errors { code message field }"
MUTATIONS: dict[str, str] = {
    name: f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {PAYLOAD} }} }}"
    for name, input_type in {
        "createBooking": "CreateBookingInput",
        "rescheduleBooking": "RescheduleBookingInput",
        "cancelBooking": "CancelBookingInput",
        "transferBooking": "TransferBookingInput",
        "updateCustomer": "UpdateCustomerInput",
        "mergeCustomers": "MergeCustomersInput",
        "shareResource": "ShareResourceInput",
        "unshareResource": "UnshareResourceInput",
        "adjustStock": "AdjustStockInput",
        "reserveStock": "ReserveStockInput",
        "releaseStock": "ReleaseStockInput",
        "transferStock": "TransferStockInput",
        "replayOutboxMessage": "ReplayOutboxMessageInput",
        "recordConsent": "RecordConsentInput",
        "withdrawConsent": "ConsentInput",
    }.items()
}
# The sync operations answer without outcomes.
MUTATIONS["triggerSync"] = (
    "mutation($input: TriggerSyncInput!) { triggerSync(input: $input) { errors { code field } } }"
)
MUTATIONS["resolveConflict"] = (
    "mutation($input: ResolveConflictInput!) { resolveConflict(input: $input) { errors { code field } } }"
)
MUTATIONS["rollbackSyncJob"] = (
    "mutation($input: RollbackSyncJobInput!) { rollbackSyncJob(input: $input) { errors { code field } } }"
)

CUSTOMERS = "query($search: String) { customers(first: 5, filter: {search: $search}) { totalCount } }"


@pytest.fixture(scope="module")
def own_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A demo gateway on a database of its own: the writes these tests make (values at their bounds, and
    whatever hypothesis finds acceptable) disturb no other module."""
    running = start_gateway(Settings(database_url=own_database_url, demo_network=True, sync_scheduler=False))
    try:
        yield running
    finally:
        stop_gateway(running)


def new_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class DemoIds:
    """Real keys of the demo network, so a generated input can get past "not found" to the checks behind it."""

    location: str
    other_location: str
    customer: str
    other_customer: str
    booking: str
    resource: str
    stock_item: str
    stock_location: str
    other_stock_location: str
    service: str  # an active service at `location`

    def future_day(self, days: int) -> str:
        """The date `days` after the session's instant (never the wall clock)."""
        return (session_instant().astimezone(UTC) + timedelta(days=days)).date().isoformat()


async def _demo_ids(engine: AsyncEngine) -> DemoIds:
    async with engine.connect() as connection:
        booking = (
            await connection.execute(
                select(Booking)
                .join(Location, Location.id == Booking.service_location_id)
                .where(Booking.status == "confirmed", Location.kind == "bookingx")
                .order_by(Booking.start_at.desc())
                .limit(1)
            )
        ).one()
        resource = (
            await connection.execute(
                select(Resource).where(Resource.location_id != booking.service_location_id).order_by(Resource.id)
            )
        ).first()
        assert resource is not None
        customers = (
            await connection.execute(
                select(CustomerMapping.customer_id)
                .where(CustomerMapping.location_id == booking.service_location_id)
                .order_by(CustomerMapping.customer_id)
                .limit(2)
            )
        ).scalars()
        customer, other_customer = list(customers)
        levels = (
            await connection.execute(select(StockLevel).order_by(StockLevel.item_id, StockLevel.location_id))
        ).all()
        service = (
            await connection.execute(
                select(Service.id)
                .where(Service.location_id == booking.service_location_id, Service.is_active)
                .order_by(Service.id)
            )
        ).scalar()
        item = levels[0].item_id
        stock_locations = [level.location_id for level in levels if level.item_id == item]
    return DemoIds(
        location=booking.service_location_id,
        other_location=resource.location_id,
        customer=customer,
        other_customer=other_customer,
        booking=booking.id,
        resource=resource.id,
        stock_item=item,
        stock_location=stock_locations[0],
        other_stock_location=stock_locations[-1],
        service=str(service),
    )


def demo_ids(gateway: RunningGateway) -> DemoIds:
    return gateway.run(_demo_ids(gateway.engine))


COUNTED = (
    Booking,
    Customer,
    CustomerMapping,
    OutboxMessage,
    IdempotencyRecord,
    AuditEntry,
    ChangeLogEntry,
    StockMovement,
)


async def _snapshot(engine: AsyncEngine, customer_id: str | None) -> dict[str, Any]:
    async with engine.connect() as connection:
        counts: dict[str, Any] = {
            model.__tablename__: (await connection.execute(select(func.count()).select_from(model))).scalar_one()
            for model in COUNTED
        }
        if customer_id is not None:
            row = (await connection.execute(select(Customer).where(Customer.id == customer_id))).one()
            counts["customer"] = (row.first_name, row.last_name, row.email, row.phone, row.version)
        return counts


def snapshot(gateway: RunningGateway, customer_id: str | None = None) -> dict[str, Any]:
    """Row counts of everything a write touches (the cache, the outbox, idempotency records, the journals)."""
    return gateway.run(_snapshot(gateway.engine, customer_id))


def mutate(gateway: RunningGateway, name: str, data: dict[str, Any]) -> dict[str, Any]:
    body = gateway.graphql(MUTATIONS[name], {"input": data})
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"][name]
    return payload


def payload_errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(error["code"], error.get("field")) for error in payload["errors"]]
