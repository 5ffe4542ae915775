"""Customers a location reports: new ones matched or created, changes applied or held as conflicts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import Customer, CustomerMapping, SyncState
from sources.connectors.records import RemoteCustomer
from sync.apply.batch import ApplyResult, Batch, derived_id, judge_change
from sync.apply.state import CUSTOMER_FIELDS, Image, agree, image_of, load_states
from sync.conflicts.detect import Side
from sync.conflicts.propagate import push_customer
from sync.events import customer_event
from sync.outbox.queue import supersede


def remote_image(remote: RemoteCustomer) -> Image:
    return {
        "first_name": remote.first_name,
        "last_name": remote.last_name,
        "email": remote.email,
        "phone": remote.phone,
    }


async def _known(
    session: AsyncSession,
    batch: Batch,
    customer: Customer,
    remote: RemoteCustomer,
    result: ApplyResult,
    state: SyncState | None,
) -> None:
    location_id = batch.location_id
    hub = image_of(customer, CUSTOMER_FIELDS)
    node = remote_image(remote)
    verdict = await judge_change(
        session,
        batch,
        entity_type="customer",
        entity_id=customer.id,
        state=state,
        network=Side(hub, customer.version, customer.updated_at),
        location=Side(node, remote.version, remote.updated_at),
        result=result,
    )
    if verdict is None or verdict.pending:
        return
    if verdict.apply:
        for name, value in verdict.apply.items():
            setattr(customer, name, value)
        customer.version += 1
        # When it was changed, at its source: what `newest` compares next time (not when we pulled it).
        customer.updated_at = remote.updated_at
        await log_change(
            session,
            entity_type="customer",
            entity_id=customer.id,
            location_id=location_id,
            operation="update",
            before=hub,
            after=image_of(customer, CUSTOMER_FIELDS),
            version=customer.version,
            sync_job_id=batch.job_id,
        )
        result.updated += 1
        result.events.append(customer_event(customer.id, location_id))
    else:
        result.unchanged += 1
    await agree(session, "customer", customer.id, location_id, remote.version, node)
    writable = batch.rules.writable
    if writable is None:
        return
    if verdict.push_back:
        await supersede(session, "customer", customer.id, location_id, "conflict settled")
        result.queued += await push_customer(session, customer, writable=writable, only=[location_id], why="merge")
    if verdict.apply:
        result.queued += await push_customer(session, customer, writable=writable, exclude=[location_id])


async def _first_seen(session: AsyncSession, batch: Batch, remote: RemoteCustomer, result: ApplyResult) -> Customer:
    location_id = batch.location_id
    existing = None
    if remote.email:
        existing = (
            (await session.execute(select(Customer).where(func.lower(Customer.email) == remote.email.lower())))
            .scalars()
            .first()
        )
    created = existing is None
    if existing is None:
        existing = Customer(
            id=derived_id("cus", location_id, remote.local_id),
            primary_location_id=location_id,
            first_name=remote.first_name,
            last_name=remote.last_name,
            email=remote.email,
            phone=remote.phone,
            preferences={},
            consents={},
        )
        session.add(existing)
        await session.flush()
        await log_change(
            session,
            entity_type="customer",
            entity_id=existing.id,
            location_id=location_id,
            operation="create",
            before=None,
            after=image_of(existing, CUSTOMER_FIELDS),
            sync_job_id=batch.job_id,
        )
        result.created += 1
        result.events.append(customer_event(existing.id, location_id))
    session.add(
        CustomerMapping(
            customer_id=existing.id,
            location_id=location_id,
            local_customer_id=remote.local_id,
            loyalty_points=remote.loyalty_points,
        )
    )
    await session.flush()
    await agree(session, "customer", existing.id, location_id, remote.version, remote_image(remote))
    writable = batch.rules.writable
    if created and writable is not None and batch.rules.share_new_customers:
        result.queued += await push_customer(
            session, existing, writable=writable, exclude=[location_id], to_new_locations=True, why="share"
        )
    return existing


async def apply_customers(
    session: AsyncSession, batch: Batch, customers: Sequence[RemoteCustomer], result: ApplyResult
) -> None:
    if not customers:
        return
    location_id = batch.location_id
    mapped = {
        mapping.local_customer_id: mapping
        for mapping in (
            await session.execute(
                select(CustomerMapping).where(
                    CustomerMapping.location_id == location_id,
                    CustomerMapping.local_customer_id.in_([customer.local_id for customer in customers]),
                )
            )
        ).scalars()
    }
    states = await load_states(session, "customer", location_id, (m.customer_id for m in mapped.values()))
    for remote in customers:
        mapping = mapped.get(remote.local_id)
        if mapping is None:
            customer = await _first_seen(session, batch, remote, result)
        else:
            mapping.loyalty_points = remote.loyalty_points
            customer = await session.get_one(Customer, mapping.customer_id, with_for_update=batch.lock_rows)
            await _known(session, batch, customer, remote, result, states.get(customer.id))
        result.customer_ids[remote.local_id] = customer.id
