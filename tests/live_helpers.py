"""Helpers for tests that write through the gateway to its simulated locations."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clock import session_instant
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import RunningGateway
from sources.cache.models import AuditEntry, Booking, ChangeLogEntry, Customer, CustomerMapping, OutboxMessage, Service


@dataclass(frozen=True)
class FreeSlot:
    service_id: str
    location_id: str
    resource_id: str
    start_at: datetime
    price_minor: int
    currency: str


async def _service_rows(engine: AsyncEngine, location_id: str) -> list[Any]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Service).where(Service.location_id == location_id, Service.is_active).order_by(Service.id)
        )
        return list(rows.all())


def free_slot(gateway: RunningGateway, location_id: str, *, days_ahead: int = 40, skip: int = 0) -> FreeSlot:
    """A start time the location's own system says is free, for one of its services, far from demo bookings."""
    store = gateway.store(location_id)
    services = gateway.run(_service_rows(gateway.engine, location_id))
    # From the session's start, not `now`: the same days whenever in the session (or of the day) it is asked.
    first_day = (session_instant().astimezone(UTC) + timedelta(days=days_ahead)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for day in (first_day + timedelta(days=offset) for offset in range(7)):  # some days a site is closed
        for service in services:
            slots = store.free_slots(service.local_service_id, day, day + timedelta(days=1))
            owned = [slot for slot in slots if slot[0] in store.resources and store.resources[slot[0]].owned]
            if len(owned) > skip:
                local_resource, start, _ = owned[skip]
                resource_id = gateway.run(_resource_id(gateway.engine, location_id, local_resource))
                return FreeSlot(
                    service.id, location_id, resource_id, start.astimezone(UTC), service.price_minor, service.currency
                )
    raise AssertionError(f"no free slot at {location_id}")


async def _resource_id(engine: AsyncEngine, location_id: str, local_id: str) -> str:
    from sources.cache.models import Resource

    async with engine.connect() as connection:
        found = (
            await connection.execute(
                select(Resource.id).where(Resource.location_id == location_id, Resource.local_resource_id == local_id)
            )
        ).scalar_one()
        return str(found)


async def _customer_known_at(engine: AsyncEngine, location_ids: list[str], offset: int = 0) -> str:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(CustomerMapping.customer_id)
            .where(CustomerMapping.location_id.in_(location_ids))
            .group_by(CustomerMapping.customer_id)
            .having(func.count() == len(location_ids))
            .order_by(CustomerMapping.customer_id)
            .offset(offset)
            .limit(1)
        )
        return str(rows.scalar_one())


def customer_known_at(gateway: RunningGateway, *location_ids: str, offset: int = 0) -> str:
    """A customer both (all) locations know; `offset` picks another one so tests do not share a customer."""
    return gateway.run(_customer_known_at(gateway.engine, list(location_ids), offset))


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        result = {}
        for name, model in (
            ("bookings", Booking),
            ("outbox", OutboxMessage),
            ("audit", AuditEntry),
            ("changes", ChangeLogEntry),
            ("customers", Customer),
        ):
            result[name] = int((await connection.execute(select(func.count()).select_from(model))).scalar_one())
        return result


def cache_counts(gateway: RunningGateway) -> dict[str, int]:
    return gateway.run(_counts(gateway.engine))


async def _row(engine: AsyncEngine, model: Any, key: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(select(model).where(model.id == key))).first()


def cache_row(gateway: RunningGateway, model: Any, key: Any) -> Any:
    return gateway.run(_row(gateway.engine, model, key))


def wait_for(condition: Callable[[], bool], seconds: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def key(gid: str) -> str:
    return gid.split(":", 1)[1]
