"""updateCustomer (to every location that knows the customer) and mergeCustomers.

A customer without a data-sharing consent in force (sources/cache/consents.py) is written at their home location
only: the cache changes, no other location is sent their details."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import require_visible_customer
from resolvers.context import Context
from resolvers.errors import ConflictError, InvalidInputError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import (
    audit_write,
    deliver,
    enqueue_for_owner,
    enqueue_for_owners,
    get_or_not_found,
    location_supports,
)
from sources.cache.consents import may_share
from sources.cache.journal import log_change
from sources.cache.models import Booking, Customer, CustomerMapping
from sources.cache.suppression import suppressed_ids
from sources.connectors.base import Capability
from sync.outbox.messages import CustomerMergeMessage, CustomerUpsertMessage
from sync.outbox.queue import Addressed, Queued

FIELDS = ("first_name", "last_name", "email", "phone", "preferences")


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    preferences: dict[str, Any] | None = None


def _validate(changes: CustomerChanges) -> dict[str, Any]:
    values = {name: value for name, value in asdict(changes).items() if value is not None}
    if not values:
        raise InvalidInputError("nothing to change", field="input")
    for name, field in (("first_name", "firstName"), ("last_name", "lastName")):
        if name in values:
            bounds.text(field, values[name], bounds.NAME_LENGTH)
            if not values[name].strip():
                raise InvalidInputError(f"`{name}` cannot be blank", field=name)
    if "email" in values:
        bounds.email("email", values["email"])
    if "phone" in values:
        bounds.phone("phone", values["phone"])
    if "preferences" in values:
        bounds.json_value("preferences", values["preferences"])
    return values


def _writable(context: Context, location_id: str) -> bool:
    return location_supports(context, location_id, Capability.WRITE_CUSTOMERS)


async def _sharing_with(context: Context, session: AsyncSession, customer: Customer) -> Callable[[str], bool]:
    """Which locations may be sent the customer's details: any, with consent; else their home location only."""
    required = context.services.sync.rules.consent_required_for_sharing
    if await may_share(session, customer.id, required=required):
        return lambda location_id: True
    return lambda location_id: location_id == customer.primary_location_id


def _details_for(customer: Customer, mapping: CustomerMapping, key: str) -> Addressed:
    """The customer's record for the location, under the id the location knows them by."""
    return Addressed(
        mapping.location_id,
        CustomerUpsertMessage.of(customer, mapping.local_customer_id),
        f"{key}:{mapping.location_id}",
    )


async def _send_details(session: AsyncSession, customer: Customer, mapping: CustomerMapping, key: str) -> Queued:
    """Queue the customer's record for the location."""
    return (await enqueue_for_owners(session, [_details_for(customer, mapping, key)]))[0]


async def _push_to_locations(context: Context, session: AsyncSession, customer: Customer, key: str) -> list[Queued]:
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
    shared = await _sharing_with(context, session, customer)
    return await enqueue_for_owners(
        session,
        [
            _details_for(customer, mapping, key)
            for mapping in mappings
            if _writable(context, mapping.location_id) and shared(mapping.location_id)
        ],
    )


async def update_customer(context: Context, customer_id: str, changes: CustomerChanges, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("customerId", customer_id)
    await require_visible_customer(context, customer_id)
    values = _validate(changes)

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            customer: Customer = await get_or_not_found(session, Customer, customer_id, "customer")
            if await suppressed_ids(session, [customer.id]):
                raise ConflictError(
                    f"customer {customer.id} was erased: their record takes no details", field="customerId"
                )
            before = {name: getattr(customer, name) for name in FIELDS}
            for name, value in values.items():
                setattr(customer, name, value)
            customer.version += 1
            await log_change(
                session,
                entity_type="customer",
                entity_id=customer.id,
                location_id=None,
                operation="update",
                before=before,
                after={name: getattr(customer, name) for name in FIELDS},
                version=customer.version,
            )
            await audit_write(
                context,
                session,
                action="customer.update",
                entity_type="customer",
                entity_id=customer.id,
                location_id=None,
                details={"fields": sorted(values)},
            )
            message_ids = await _push_to_locations(context, session, customer, key)
        return await deliver(context, "customer", customer_id, message_ids)

    return await run_idempotent(context, "updateCustomer", key, {"customer_id": customer_id, **values}, perform)


async def merge_customers(context: Context, keep_customer_id: str, remove_customer_id: str, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("keepCustomerId", keep_customer_id)
    bounds.key("removeCustomerId", remove_customer_id)
    if keep_customer_id == remove_customer_id:
        raise InvalidInputError("a customer cannot be merged into itself", field="removeCustomerId")
    await require_visible_customer(context, keep_customer_id, "keepCustomerId")
    await require_visible_customer(context, remove_customer_id, "removeCustomerId")

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            keep: Customer = await get_or_not_found(session, Customer, keep_customer_id, "customer")
            remove: Customer = await get_or_not_found(session, Customer, remove_customer_id, "customer")
            keep_maps = {
                m.location_id: m
                for m in (
                    await session.execute(select(CustomerMapping).where(CustomerMapping.customer_id == keep.id))
                ).scalars()
            }
            remove_maps = (
                (await session.execute(select(CustomerMapping).where(CustomerMapping.customer_id == remove.id)))
                .scalars()
                .all()
            )
            message_ids: list[Queued] = []
            shared = await _sharing_with(context, session, keep)
            for mapping in remove_maps:
                kept = keep_maps.get(mapping.location_id)
                if kept is None:
                    # This location only knew the duplicate: it becomes the kept customer's identity there.
                    mapping.customer_id = keep.id
                    if _writable(context, mapping.location_id) and shared(mapping.location_id):
                        message_ids.append(await _send_details(session, keep, mapping, key))
                    continue
                kept.loyalty_points += mapping.loyalty_points
                if _writable(context, mapping.location_id):
                    message_ids.append(
                        await enqueue_for_owner(
                            session,
                            location_id=mapping.location_id,
                            key=f"{key}:{mapping.location_id}",
                            message=CustomerMergeMessage(
                                keep.id, kept.local_customer_id, mapping.local_customer_id, remove.id
                            ),
                        )
                    )
                await session.delete(mapping)
            await session.flush()
            await session.execute(update(Booking).where(Booking.customer_id == remove.id).values(customer_id=keep.id))
            await log_change(
                session,
                entity_type="customer",
                entity_id=remove.id,
                location_id=None,
                operation="delete",
                before={name: getattr(remove, name) for name in FIELDS},
                after=None,
                version=remove.version,
            )
            await audit_write(
                context,
                session,
                action="customer.merge",
                entity_type="customer",
                entity_id=keep.id,
                location_id=None,
                details={"merged": remove.id},
            )
            await session.execute(delete(Customer).where(Customer.id == remove.id))
        result = await deliver(context, "customer", keep_customer_id, message_ids)
        return WriteResult(
            result.entity_type, result.entity_id, result.outcomes, {"mergedCustomerId": remove_customer_id}
        )

    return await run_idempotent(
        context, "mergeCustomers", key, {"keep": keep_customer_id, "remove": remove_customer_id}, perform
    )
