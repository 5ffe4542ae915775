"""eraseCustomer: the right to erasure, as anonymisation.

In one transaction: the customer's cache row loses everything personal (name, email, phone, preferences,
consents' IP addresses and user agents, their bookings' notes and source details, the personal values in change
log images, sync agreements and conflicts); bookings, revenue entries and loyalty points stay, so every total
still adds up. Each location that knows them gets a `customer.erase` message through the outbox (an anonymised
update: sources/connectors/erasure.py), what still waited to be sent about them is cancelled, and they go on the
suppression list so no later pull, push or webhook brings their data back. The request is a record: due 30 days
after it was made, with each location's outcome (delivered, queued while it is down, failed, not supported).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_visible_customer
from resolvers.context import Context
from resolvers.errors import ConflictError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import audit_write, deliver, enqueue_for_owner, get_or_not_found
from sources.cache.models import (
    Booking,
    ChangeLogEntry,
    Conflict,
    ConsentRecord,
    Customer,
    CustomerMapping,
    CustomerSuppression,
    DataSubjectRequest,
    SyncState,
)
from sources.cache.suppression import email_hash
from sources.cache.types import utc_now
from sources.connectors.erasure import ERASED_FIRST_NAME, ERASED_LAST_NAME, can_erase
from sync.outbox.messages import CustomerEraseMessage
from sync.outbox.queue import Queued, supersede

DUE_AFTER = timedelta(days=30)  # GDPR art. 12(3): a month
ERASED: dict[str, Any] = {
    "first_name": ERASED_FIRST_NAME,
    "last_name": ERASED_LAST_NAME,
    "email": None,
    "phone": None,
    "preferences": {},
}
NOT_SUPPORTED = "not_supported"


def new_request_id() -> str:
    return f"dsr_{secrets.token_hex(8)}"


def scrubbed(value: Any) -> Any:
    """A JSON image with every personal field anonymised, however deep (conflicts nest theirs under `fields`)."""
    if isinstance(value, dict):
        return {key: ERASED[key] if key in ERASED else scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrubbed(item) for item in value]
    return value


async def _scrub_rows(session: AsyncSession, customer_id: str) -> None:
    entries = (
        await session.execute(
            select(ChangeLogEntry).where(
                ChangeLogEntry.entity_type == "customer", ChangeLogEntry.entity_id == customer_id
            )
        )
    ).scalars()
    for entry in entries:
        entry.before, entry.after = scrubbed(entry.before), scrubbed(entry.after)
    conflicts = (
        await session.execute(
            select(Conflict).where(Conflict.entity_type == "customer", Conflict.entity_id == customer_id)
        )
    ).scalars()
    for conflict in conflicts:
        conflict.base_data = scrubbed(conflict.base_data)
        conflict.source_data = scrubbed(conflict.source_data)
        conflict.target_data = scrubbed(conflict.target_data)
        conflict.resolved_data = scrubbed(conflict.resolved_data)
        if conflict.status == "pending":
            conflict.status, conflict.resolved_by, conflict.resolved_at = "resolved", "erasure", utc_now()


async def erase_customer(context: Context, customer_id: str, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("customerId", customer_id)
    await require_visible_customer(context, customer_id)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            customer: Customer = await get_or_not_found(session, Customer, customer_id, "customer")
            if await session.get(CustomerSuppression, customer.id) is not None:
                raise ConflictError(f"customer {customer.id} is erased already", field="customerId")
            now = utc_now()
            request = DataSubjectRequest(
                id=new_request_id(),
                customer_id=customer.id,
                kind="erasure",
                status="in_progress",
                requested_at=now,
                due_at=now + DUE_AFTER,
                requested_by=context.principal.subject,
                outcomes={},
            )
            session.add(request)
            session.add(
                CustomerSuppression(
                    customer_id=customer.id, email_hash=email_hash(customer.email), request_id=request.id
                )
            )
            for name, value in ERASED.items():
                setattr(customer, name, value)
            customer.consents = {"erased": True}
            customer.version += 1
            await session.execute(
                update(ConsentRecord)
                .where(ConsentRecord.customer_id == customer.id)
                .values(ip_address=None, user_agent=None)
            )
            await session.execute(
                update(Booking)
                .where(Booking.customer_id == customer.id)
                .values(notes="", admin_notes=None, source_details=None)
            )
            await session.execute(
                delete(SyncState).where(SyncState.entity_type == "customer", SyncState.entity_id == customer.id)
            )
            await _scrub_rows(session, customer.id)
            await session.execute(
                update(DataSubjectRequest).where(DataSubjectRequest.customer_id == customer.id).values(document=None)
            )
            mappings = (
                (
                    await session.execute(
                        select(CustomerMapping)
                        .where(CustomerMapping.customer_id == customer.id)
                        .order_by(CustomerMapping.location_id)
                    )
                )
                .scalars()
                .all()
            )
            queued: list[Queued] = []
            outcomes: dict[str, Any] = {}
            for mapping in mappings:
                await supersede(session, "customer", customer.id, mapping.location_id, "customer erased")
                if not can_erase(context.services.connectors.get(mapping.location_id)):
                    outcomes[mapping.location_id] = {
                        "status": NOT_SUPPORTED,
                        "detail": "the location's API takes no customer changes; what it sends is suppressed",
                    }
                    continue
                outcomes[mapping.location_id] = {"status": "queued", "detail": None}
                queued.append(
                    await enqueue_for_owner(
                        session,
                        location_id=mapping.location_id,
                        key=f"erase:{request.id}:{mapping.location_id}",
                        message=CustomerEraseMessage(customer.id, mapping.local_customer_id, request.id),
                    )
                )
            request.outcomes = outcomes
            if not queued:
                request.status, request.completed_at = "completed", now
            await audit_write(
                context,
                session,
                action="customer.erase",
                entity_type="customer",
                entity_id=customer.id,
                location_id=None,
                details={"request_id": request.id, "locations": sorted(outcomes)},
            )
        result = await deliver(context, "data_subject_request", request.id, queued)
        return WriteResult(result.entity_type, result.entity_id, result.outcomes, {"customerId": customer_id})

    return await run_idempotent(context, "eraseCustomer", key, {"customer_id": customer_id}, perform)
