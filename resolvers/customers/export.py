"""exportCustomerData: the right of access (and portability), as one JSON document.

Everything the network holds on the person: the cache's row and identities, every location that knows them asked
live through its connector (with a per-location outcome: ok, unavailable, not supported), their bookings, the
revenue lines of those bookings, their consent records and the audit entries about them. The request is a record
(kind export, due 30 days after it was made, completed at once) that keeps the document, so a retried request
answers the same; an erasure empties it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_visible_customer
from resolvers.context import Context
from resolvers.customers.erasure import DUE_AFTER, NOT_SUPPORTED, new_request_id
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import audit_write, get_or_not_found
from sources.cache.models import (
    AuditEntry,
    Booking,
    ConsentRecord,
    Customer,
    CustomerMapping,
    DataSubjectRequest,
    RevenueEntry,
)
from sources.cache.types import utc_now
from sources.connectors.base import Capability
from sources.connectors.errors import ConnectorError

CUSTOMER_COLUMNS = (
    "id",
    "primary_location_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "preferences",
    "consents",
    "version",
    "created_at",
    "updated_at",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _row(row: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row._mapping.items()}


async def _asked_live(context: Context, location_id: str, local_id: str) -> dict[str, Any]:
    connector = context.services.connectors.get(location_id)
    if connector is None or Capability.READ_CUSTOMERS not in connector.capabilities:
        return {"status": NOT_SUPPORTED, "detail": "the location's API lists no customers"}
    try:
        listed = await asyncio.wait_for(
            connector.list_customers(None), timeout=context.settings.live_refresh_deadline_seconds
        )
    except (ConnectorError, TimeoutError) as error:
        return {"status": "unavailable", "detail": str(error) or type(error).__name__}
    record = next((customer for customer in listed if customer.local_id == local_id), None)
    if record is None:
        return {"status": "ok", "detail": "the location no longer has a record of them", "record": None}
    return {"status": "ok", "detail": None, "record": _plain(asdict(record))}


async def _cached(session: AsyncSession, customer_id: str) -> dict[str, Any]:
    customer = (
        await session.execute(
            select(*(getattr(Customer, name) for name in CUSTOMER_COLUMNS)).where(Customer.id == customer_id)
        )
    ).one()
    mappings = (
        await session.execute(
            select(
                CustomerMapping.location_id,
                CustomerMapping.local_customer_id,
                CustomerMapping.loyalty_points,
                CustomerMapping.created_at,
            )
            .where(CustomerMapping.customer_id == customer_id)
            .order_by(CustomerMapping.location_id)
        )
    ).all()
    bookings = (
        await session.execute(
            select(
                Booking.id,
                Booking.originating_location_id,
                Booking.service_location_id,
                Booking.service_id,
                Booking.resource_id,
                Booking.start_at,
                Booking.end_at,
                Booking.status,
                Booking.price_minor,
                Booking.currency,
                Booking.notes,
            )
            .where(Booking.customer_id == customer_id)
            .order_by(Booking.start_at, Booking.id)
        )
    ).all()
    booking_ids = [booking.id for booking in bookings]
    revenue = (
        await session.execute(
            select(
                RevenueEntry.booking_id,
                RevenueEntry.location_id,
                RevenueEntry.role,
                RevenueEntry.share_bp,
                RevenueEntry.amount_minor,
                RevenueEntry.commission_minor,
                RevenueEntry.tax_minor,
                RevenueEntry.currency,
                RevenueEntry.payment_status,
                RevenueEntry.business_date,
            )
            .where(RevenueEntry.booking_id.in_(booking_ids))
            .order_by(RevenueEntry.booking_id, RevenueEntry.id)
        )
    ).all()
    consents = (
        await session.execute(
            select(ConsentRecord).where(ConsentRecord.customer_id == customer_id).order_by(ConsentRecord.id)
        )
    ).scalars()
    audit = (
        await session.execute(
            select(
                AuditEntry.occurred_at,
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.entity_type,
                AuditEntry.entity_id,
                AuditEntry.location_id,
                AuditEntry.details,
            )
            .where(
                or_(
                    (AuditEntry.entity_type == "customer") & (AuditEntry.entity_id == customer_id),
                    (AuditEntry.entity_type == "booking") & AuditEntry.entity_id.in_(booking_ids),
                )
            )
            .order_by(AuditEntry.id)
        )
    ).all()
    return {
        "customer": _row(customer),
        "identities": [_row(mapping) for mapping in mappings],
        "bookings": [_row(booking) for booking in bookings],
        "revenue": [_row(line) for line in revenue],
        "consents": [
            {
                "purpose": record.purpose,
                "granted": record.granted,
                "recorded_at": _plain(record.recorded_at),
                "expires_at": _plain(record.expires_at),
                "recorded_by": record.actor,
                "channel": record.channel,
                "location_id": record.location_id,
                "ip_address": record.ip_address,
                "user_agent": record.user_agent,
            }
            for record in consents
        ],
        "audit": [_row(entry) for entry in audit],
    }


async def export_customer_data(context: Context, customer_id: str, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("customerId", customer_id)
    await require_visible_customer(context, customer_id)

    async def perform() -> WriteResult:
        async with AsyncSession(context.engine) as session:
            await get_or_not_found(session, Customer, customer_id, "customer")
            cached = await _cached(session, customer_id)
        identities = cached["identities"]
        answers = await asyncio.gather(
            *(_asked_live(context, i["location_id"], i["local_customer_id"]) for i in identities)
        )
        locations = {identity["location_id"]: answer for identity, answer in zip(identities, answers, strict=True)}
        now = utc_now()
        request_id = new_request_id()
        request = {
            "id": request_id,
            "kind": "export",
            "requested_at": now.isoformat(),
            "due_at": (now + DUE_AFTER).isoformat(),
            "status": "completed",
        }
        document = {"request": request, **cached, "locations": locations}
        async with context.services.writer.transaction() as session:
            session.add(
                DataSubjectRequest(
                    id=request_id,
                    customer_id=customer_id,
                    kind="export",
                    status="completed",
                    requested_at=now,
                    due_at=now + DUE_AFTER,
                    completed_at=now,
                    requested_by=context.principal.subject,
                    outcomes={
                        location: {"status": a["status"], "detail": a["detail"]} for location, a in locations.items()
                    },
                    document=document,
                )
            )
            await audit_write(
                context,
                session,
                action="customer.export",
                entity_type="customer",
                entity_id=customer_id,
                location_id=None,
                details={"request_id": request_id},
            )
        return WriteResult("data_subject_request", request_id, (), {"customerId": customer_id})

    return await run_idempotent(context, "exportCustomerData", key, {"customer_id": customer_id}, perform)
