"""Customers: one network record per person, known at many locations by their own ids.

Pulled customers are matched to a known network customer by email when first seen (otherwise
created), changes are judged against the last agreement (conflicts per the strategy), and what
one location changed is passed on to every other location that knows the customer (with their
data-sharing consent). An erased customer (the suppression list) takes nothing from any location.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence, Set

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import ChangeLogEntry, Conflict, Customer, CustomerMapping, SyncState
from sources.cache.suppression import suppressed_ids
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteCustomer, RemoteRecord
from sync.apply.batch import ApplyResult, ApplyRules, Batch, derived_id, judge_change
from sync.apply.customer_push import push_customer
from sync.apply.entity import Undo, check_fields, chosen_fields, restore, undoable_update
from sync.apply.erased_customers import erased_among, map_erased
from sync.apply.state import CUSTOMER_FIELDS, Image, agree, image_of, load_states
from sync.conflicts.detect import Side
from sync.errors import InvalidResolution
from sync.events import customer_event
from sync.outbox.queue import Queued, supersede
from sync.types import ConflictChoice

CUSTOMER = RecordType.CUSTOMER
MAPPING_ROW = ("customer_id", "location_id", "local_customer_id", "loyalty_points")


def remote_image(remote: RemoteCustomer) -> Image:
    return {
        "first_name": remote.first_name,
        "last_name": remote.last_name,
        "email": remote.email,
        "phone": remote.phone,
    }


class Customers:
    pulled_as = EntityType.CUSTOMERS
    record_types = (CUSTOMER, RecordType.CUSTOMER_MAPPING)
    reads = Capability.READ_CUSTOMERS
    remote_type: type[RemoteRecord] = RemoteCustomer

    def key_of(self, record: RemoteCustomer) -> str:
        return record.local_id

    # -- pull --------------------------------------------------------------------------------------
    async def apply(
        self, session: AsyncSession, batch: Batch, records: Sequence[RemoteCustomer], result: ApplyResult
    ) -> None:
        location_id = batch.location_id
        mapped = {
            mapping.local_customer_id: mapping
            for mapping in (
                await session.execute(
                    select(CustomerMapping).where(
                        CustomerMapping.location_id == location_id,
                        CustomerMapping.local_customer_id.in_([customer.local_id for customer in records]),
                    )
                )
            ).scalars()
        }
        states = await load_states(session, CUSTOMER, location_id, (m.customer_id for m in mapped.values()))
        erased = await erased_among(session, records, mapped)
        for remote in records:
            mapping = mapped.get(remote.local_id)
            erased_id = erased.get(remote.local_id)
            if erased_id is not None:
                await map_erased(session, location_id, remote, mapping, erased_id)
                result.unchanged += 1
                result.customer_ids[remote.local_id] = erased_id
                continue
            if mapping is None:
                mapping = await self._known_by_email(session, location_id, remote)
                if mapping is not None:
                    # The location knows this person under another id already (a website keying its pushes by
                    # email, a duplicate record there): the same network customer, its mapping and points kept.
                    customer = await session.get_one(Customer, mapping.customer_id, with_for_update=batch.lock_rows)
                    state = await session.get(SyncState, (CUSTOMER, customer.id, location_id))
                    await self._known(session, batch, customer, remote, result, state)
                else:
                    customer = await self._first_seen(session, batch, remote, result)
            else:
                mapping.loyalty_points = remote.loyalty_points
                customer = await session.get_one(Customer, mapping.customer_id, with_for_update=batch.lock_rows)
                await self._known(session, batch, customer, remote, result, states.get(customer.id))
            result.customer_ids[remote.local_id] = customer.id

    async def _known_by_email(
        self, session: AsyncSession, location_id: str, remote: RemoteCustomer
    ) -> CustomerMapping | None:
        """This location's mapping of a network customer with the record's email, if it has one."""
        if not remote.email:
            return None
        statement = (
            select(CustomerMapping)
            .join(Customer, Customer.id == CustomerMapping.customer_id)
            .where(CustomerMapping.location_id == location_id, func.lower(Customer.email) == remote.email.lower())
            .order_by(CustomerMapping.id)
            .limit(1)
        )
        return (await session.execute(statement)).scalar()

    async def _known(
        self,
        session: AsyncSession,
        batch: Batch,
        customer: Customer,
        remote: RemoteCustomer,
        result: ApplyResult,
        state: SyncState | None,
    ) -> None:
        location_id = batch.location_id
        network = image_of(customer, CUSTOMER_FIELDS)
        there = remote_image(remote)
        verdict = await judge_change(
            session,
            batch,
            entity_type=CUSTOMER,
            entity_id=customer.id,
            state=state,
            network=Side(network, customer.version, customer.updated_at),
            location=Side(there, remote.version, remote.updated_at),
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
                entity_type=CUSTOMER,
                entity_id=customer.id,
                location_id=location_id,
                operation="update",
                before=network,
                after=image_of(customer, CUSTOMER_FIELDS),
                version=customer.version,
                sync_job_id=batch.job_id,
            )
            result.updated += 1
            result.events.append(customer_event(customer.id, location_id))
        else:
            result.unchanged += 1
        await agree(session, CUSTOMER, customer.id, location_id, remote.version, there)
        writable = batch.rules.writable
        if writable is None:
            return
        if verdict.push_back:
            await supersede(session, CUSTOMER, customer.id, location_id, "conflict settled")
            result.queued += await push_customer(
                session,
                customer,
                writable=writable,
                consent_required=batch.rules.consent_required_for_sharing,
                only=[location_id],
                why="merge",
            )
        if verdict.apply:
            result.queued += await push_customer(
                session,
                customer,
                writable=writable,
                consent_required=batch.rules.consent_required_for_sharing,
                exclude=[location_id],
            )

    async def _first_seen(
        self, session: AsyncSession, batch: Batch, remote: RemoteCustomer, result: ApplyResult
    ) -> Customer:
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
                entity_type=CUSTOMER,
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
        await agree(session, CUSTOMER, existing.id, location_id, remote.version, remote_image(remote))
        writable = batch.rules.writable
        if created and writable is not None and batch.rules.share_new_customers:
            result.queued += await push_customer(
                session,
                existing,
                writable=writable,
                consent_required=batch.rules.consent_required_for_sharing,
                exclude=[location_id],
                to_new_locations=True,
                why="share",
            )
        return existing

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        """A location that no longer knows a customer loses its mapping; the network customer stays."""
        mappings = (
            await session.execute(select(CustomerMapping).where(CustomerMapping.location_id == location_id))
        ).scalars()
        for mapping in mappings:
            if mapping.local_customer_id in seen:
                continue
            await log_change(
                session,
                entity_type=RecordType.CUSTOMER_MAPPING,
                entity_id=mapping.customer_id,
                location_id=location_id,
                operation="delete",
                before=image_of(mapping, MAPPING_ROW),
                after=None,
                sync_job_id=job_id,
            )
            await session.execute(
                delete(SyncState).where(
                    SyncState.entity_type == CUSTOMER,
                    SyncState.entity_id == mapping.customer_id,
                    SyncState.location_id == location_id,
                )
            )
            await session.delete(mapping)
            result.deleted += 1

    # -- conflicts and rollback --------------------------------------------------------------------
    async def resolve(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        conflict: Conflict,
        choice: ConflictChoice | None,
        merged: Image | None,
    ) -> ApplyResult:
        result = ApplyResult()
        fields = chosen_fields(conflict, choice, merged)
        check_fields(fields, CUSTOMER_FIELDS, "customer")
        customer = await session.get(Customer, conflict.entity_id)
        if customer is None:
            raise InvalidResolution(f"customer {conflict.entity_id} no longer exists")
        if await suppressed_ids(session, [customer.id]):
            raise InvalidResolution(f"customer {customer.id} was erased: their former values are not restored")
        before = image_of(customer, CUSTOMER_FIELDS)
        for name, value in fields.items():
            setattr(customer, name, value)
        customer.version += 1
        await log_change(
            session,
            entity_type=CUSTOMER,
            entity_id=customer.id,
            location_id=None,
            operation="update",
            before=before,
            after=image_of(customer, CUSTOMER_FIELDS),
            version=customer.version,
        )
        source = conflict.source_location_id
        exclude: list[str] = []
        if choice is ConflictChoice.LOCATION:
            # The source location holds these values already, at the version the conflict recorded.
            await agree(session, CUSTOMER, customer.id, source, int(conflict.source_data.get("version", 0)), fields)
            exclude.append(source)
        await supersede(session, CUSTOMER, customer.id, source, "conflict resolved")
        result.queued += await self.propagate(session, rules, customer.id, why="resolve", exclude=exclude)
        result.events.append(customer_event(customer.id, None))
        conflict.resolved_data = fields
        return result

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        if entry.entity_type == RecordType.CUSTOMER_MAPPING:
            return await self._restore_mapping(undo, entry)
        customer = await undo.session.get(Customer, entry.entity_id)
        if customer is not None and await suppressed_ids(undo.session, [customer.id]):
            return False  # erased: a rollback must not bring their personal data back
        if customer is None or not undoable_update(customer, entry):
            return False  # created customers stay: bookings and other locations may know them by now
        restore(customer, entry.before)
        customer.version += 1
        await undo.log(entry, customer.version)
        undo.result.queued += await self.propagate(undo.session, undo.rules, customer.id, why="rollback")
        undo.result.events.append(customer_event(customer.id, None))
        return True

    async def _restore_mapping(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        before = entry.before or {}
        exists = (
            await undo.session.execute(
                select(CustomerMapping.id).where(
                    CustomerMapping.customer_id == before.get("customer_id"),
                    CustomerMapping.location_id == before.get("location_id"),
                )
            )
        ).scalar()
        if exists is not None or entry.operation != "delete":
            return False
        undo.session.add(CustomerMapping(**before))
        await undo.log(entry)
        return True

    async def propagate(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        entity_id: str,
        *,
        why: str,
        held: Image | None = None,
        exclude: Collection[str] = (),
    ) -> list[Queued]:
        """To every location that knows the customer and takes customer writes (none when rules say none)."""
        customer = await session.get(Customer, entity_id)
        if rules.writable is None or customer is None:
            return []
        return await push_customer(
            session,
            customer,
            writable=rules.writable,
            consent_required=rules.consent_required_for_sharing,
            exclude=exclude,
            why=why,
        )
