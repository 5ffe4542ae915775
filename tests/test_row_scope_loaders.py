"""The row scope in every DataLoader, so in node(id) and every relation: nothing outside it, all inside it."""

from __future__ import annotations

import inspect
from functools import cached_property
from typing import Any

from scope_helpers import (
    ALL_ROWS,
    HELD_AT_MANCHESTER,
    KNOWN_AT_MANCHESTER,
    LEEDS,
    LEEDS_OWN_BOOKINGS,
    LENT_TO_MANCHESTER,
    MANCHESTER,
    ONLY_MANCHESTER,
    first_id,
    loaded,
    loaded_by,
    rows,
    run,
)
from sqlalchemy import Executable, delete, insert, or_, select

from conftest import RunningGateway
from resolvers.bookings.loaders import BookingHistoryByCustomerLoader, HistoryRequest
from resolvers.bookings.vocabulary import BookingSort
from resolvers.catalog.loaders import ResourceByLocalIdLoader
from resolvers.clock import utc_now
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.scope import RowScope
from sources.cache.models import (
    Booking,
    Conflict,
    ConsentRecord,
    CustomerMapping,
    DataSubjectRequest,
    OutboxMessage,
    Resource,
    ResourceShare,
    RevenueEntry,
    Service,
    StockItem,
    SyncJob,
    SyncLog,
)

EVERYTHING = RowScope.everything()

# Every loader the request's Loaders builds, each checked by one of the tests below.
CHECKED_LOADERS = {
    "booking_by_id",
    "revenue_entries_by_booking_id",
    "location_by_id",
    "counts_by_location_id",
    "service_by_id",
    "services_by_location_id",
    "resource_by_id",
    "resources_by_location_id",
    "resource_shares_by_resource_id",
    "customer_by_id",
    "customer_mappings_by_customer_id",
    "consent_records_by_customer_id",
    "data_subject_requests_by_customer_id",
    "stock_item_by_id",
    "stock_levels_by_item_id",
    "stock_levels_by_location_id",
    "sync_job_by_id",
    "sync_logs_by_sync_job_id",
    "conflict_by_id",
    "conflicts_by_sync_job_id",
    "outbox_message_by_id",
}


def test_the_checked_loaders_are_every_loader_there_is() -> None:
    built = {name for name, value in inspect.getmembers(Loaders) if isinstance(value, cached_property)}
    assert built == CHECKED_LOADERS


def test_bookings_and_their_revenue_split_load_only_in_scope(gateway: RunningGateway) -> None:
    leeds_booking = first_id(gateway, LEEDS_OWN_BOOKINGS)
    manchester_booking = first_id(gateway, select(Booking.id).where(Booking.service_location_id == MANCHESTER))
    cross = first_id(
        gateway,
        select(Booking.id)
        .where(Booking.originating_location_id == MANCHESTER, Booking.service_location_id == LEEDS)
        .where(Booking.id.in_(select(RevenueEntry.booking_id))),
    )

    assert loaded(gateway, "booking_by_id", leeds_booking) is None
    assert loaded(gateway, "booking_by_id", manchester_booking).id == manchester_booking
    # A booking made at Manchester for Leeds: Manchester's share only.
    assert {row.location_id for row in loaded(gateway, "revenue_entries_by_booking_id", cross)} == {MANCHESTER}
    everyone = loaded(gateway, "revenue_entries_by_booking_id", cross, EVERYTHING)
    assert {row.location_id for row in everyone} == {MANCHESTER, LEEDS}


def test_locations_and_their_counts_load_only_in_scope(gateway: RunningGateway) -> None:
    assert loaded(gateway, "location_by_id", LEEDS) is None
    assert loaded(gateway, "location_by_id", MANCHESTER).id == MANCHESTER
    # Everything at Manchester is in its own scope; Leeds' services and customers are not.
    assert loaded(gateway, "counts_by_location_id", MANCHESTER) == loaded(
        gateway, "counts_by_location_id", MANCHESTER, EVERYTHING
    )
    at_leeds = loaded(gateway, "counts_by_location_id", LEEDS)
    assert at_leeds["services"] == at_leeds["customers"] == 0


def test_services_resources_and_lendings_load_only_in_scope(gateway: RunningGateway) -> None:
    leeds_service = first_id(gateway, select(Service.id).where(Service.location_id == LEEDS))
    assert loaded(gateway, "service_by_id", leeds_service) is None
    assert loaded(gateway, "services_by_location_id", LEEDS) == []
    assert loaded(gateway, "services_by_location_id", MANCHESTER)

    lent_in = {row[0] for row in rows(gateway, LENT_TO_MANCHESTER)}
    leeds_resources = rows(
        gateway, select(Resource.id, Resource.local_resource_id).where(Resource.location_id == LEEDS)
    )
    kept_at_leeds, local_id = next((key, local) for key, local in leeds_resources if key not in lent_in)
    assert loaded(gateway, "resource_by_id", kept_at_leeds) is None
    # Leeds' resources Manchester sees are those Leeds lends it.
    lent_by_leeds = {row.id for row in loaded(gateway, "resources_by_location_id", LEEDS)}
    assert lent_by_leeds == {key for key, _ in leeds_resources if key in lent_in}
    by_local_id = lambda loaders: loaders.get(ResourceByLocalIdLoader)  # noqa: E731
    assert loaded_by(gateway, by_local_id, (LEEDS, local_id), EVERYTHING).id == kept_at_leeds
    assert loaded_by(gateway, by_local_id, (LEEDS, local_id)) is None

    shared = select(ResourceShare.resource_id).join(Resource, Resource.id == ResourceShare.resource_id)
    owned_by_manchester = first_id(gateway, shared.where(Resource.location_id == MANCHESTER, ResourceShare.is_active))
    not_ours = first_id(
        gateway,
        shared.where(Resource.location_id != MANCHESTER, ResourceShare.is_active).where(
            ResourceShare.resource_id.not_in(LENT_TO_MANCHESTER)
        ),
    )
    # Every lending of a resource Manchester owns; none of one lent between two other locations.
    assert loaded(gateway, "resource_shares_by_resource_id", owned_by_manchester) == loaded(
        gateway, "resource_shares_by_resource_id", owned_by_manchester, EVERYTHING
    )
    assert loaded(gateway, "resource_shares_by_resource_id", not_ours) == []


def test_customers_and_their_identities_load_only_in_scope(gateway: RunningGateway) -> None:
    stranger = first_id(
        gateway, select(CustomerMapping.customer_id).where(CustomerMapping.customer_id.not_in(KNOWN_AT_MANCHESTER))
    )
    regular = first_id(
        gateway,
        select(CustomerMapping.customer_id)
        .where(CustomerMapping.location_id == MANCHESTER)
        .where(
            CustomerMapping.customer_id.in_(
                select(CustomerMapping.customer_id).where(CustomerMapping.location_id != MANCHESTER)
            )
        ),
    )
    assert loaded(gateway, "customer_by_id", stranger) is None
    assert loaded(gateway, "customer_by_id", regular).id == regular
    # Known at Manchester and elsewhere: only the Manchester identity shows.
    identities = loaded(gateway, "customer_mappings_by_customer_id", regular)
    assert [row.location_id for row in identities] == [MANCHESTER]
    assert len(loaded(gateway, "customer_mappings_by_customer_id", regular, EVERYTHING)) > 1


def write(gateway: RunningGateway, *statements: Executable) -> None:
    async def run_all() -> None:
        async with gateway.engine.begin() as connection:
            for statement in statements:
                await connection.execute(statement)

    gateway.run(run_all())


def test_consents_and_data_subject_requests_load_only_for_customers_in_scope(gateway: RunningGateway) -> None:
    stranger = first_id(
        gateway, select(CustomerMapping.customer_id).where(CustomerMapping.customer_id.not_in(KNOWN_AT_MANCHESTER))
    )
    regular = first_id(gateway, KNOWN_AT_MANCHESTER)
    given = [stranger, regular]
    consents = [
        {
            "customer_id": key,
            "purpose": "marketing",
            "granted": True,
            "actor": "scope-test",
            "actor_role": "network_admin",
            "channel": "test",
        }
        for key in given
    ]
    now = utc_now()
    requests = [
        {
            "id": f"dsr_scope_{key}",
            "customer_id": key,
            "kind": "export",
            "status": "in_progress",
            "requested_at": now,
            "due_at": now,
            "requested_by": "scope-test",
            "outcomes": {},
        }
        for key in given
    ]
    write(gateway, insert(ConsentRecord).values(consents), insert(DataSubjectRequest).values(requests))
    try:
        for name in ("consent_records_by_customer_id", "data_subject_requests_by_customer_id"):
            assert loaded(gateway, name, stranger) == [], name
            assert [row.customer_id for row in loaded(gateway, name, regular)] == [regular], name
            assert [row.customer_id for row in loaded(gateway, name, stranger, EVERYTHING)] == [stranger], name
    finally:
        write(
            gateway,
            delete(ConsentRecord).where(ConsentRecord.actor == "scope-test"),
            delete(DataSubjectRequest).where(DataSubjectRequest.requested_by == "scope-test"),
        )


def test_stock_items_and_levels_load_only_in_scope(gateway: RunningGateway) -> None:
    not_held = first_id(gateway, select(StockItem.id).where(StockItem.id.not_in(HELD_AT_MANCHESTER)))
    held = first_id(gateway, HELD_AT_MANCHESTER)
    assert loaded(gateway, "stock_item_by_id", not_held) is None
    assert loaded(gateway, "stock_item_by_id", held).id == held
    assert [row.location_id for row in loaded(gateway, "stock_levels_by_item_id", held)] == [MANCHESTER]
    assert loaded(gateway, "stock_levels_by_location_id", LEEDS) == []
    assert loaded(gateway, "stock_levels_by_location_id", MANCHESTER)


def test_sync_jobs_their_logs_and_conflicts_load_only_in_scope(gateway: RunningGateway) -> None:
    with_logs = select(SyncJob.id).where(SyncJob.id.in_(select(SyncLog.sync_job_id)))
    leeds_job = first_id(gateway, with_logs.where(SyncJob.location_id == LEEDS))
    manchester_job = first_id(gateway, with_logs.where(SyncJob.location_id == MANCHESTER))
    assert loaded(gateway, "sync_job_by_id", leeds_job) is None
    assert loaded(gateway, "sync_job_by_id", manchester_job).id == manchester_job
    assert loaded(gateway, "sync_logs_by_sync_job_id", leeds_job) == []
    assert loaded(gateway, "sync_logs_by_sync_job_id", manchester_job)

    elsewhere = rows(
        gateway,
        select(Conflict.id, Conflict.sync_job_id).where(
            Conflict.source_location_id != MANCHESTER,
            or_(Conflict.target_location_id.is_(None), Conflict.target_location_id != MANCHESTER),
            Conflict.sync_job_id.is_not(None),
        ),
    )
    assert elsewhere, "the demo network has a conflict between two other locations, found by a sync job"
    conflict_id, its_job = elsewhere[0]
    assert loaded(gateway, "conflict_by_id", conflict_id) is None
    assert loaded(gateway, "conflict_by_id", conflict_id, EVERYTHING).id == conflict_id
    assert loaded(gateway, "conflicts_by_sync_job_id", its_job) == []
    assert loaded(gateway, "conflicts_by_sync_job_id", its_job, EVERYTHING)


def test_outbox_messages_load_only_for_the_scope_s_locations(gateway: RunningGateway) -> None:
    message_id, location_id = rows(gateway, select(OutboxMessage.id, OutboxMessage.location_id).limit(1))[0]
    elsewhere = RowScope.of_locations({LEEDS if location_id != LEEDS else MANCHESTER})
    assert loaded(gateway, "outbox_message_by_id", message_id, elsewhere) is None
    found = loaded(gateway, "outbox_message_by_id", message_id, RowScope.of_locations({location_id}))
    assert (found.id, found.location_id) == (message_id, location_id)
    assert "payload" not in found._mapping  # not part of the API, and it can be large


def test_a_customer_s_booking_history_holds_only_bookings_in_scope(gateway: RunningGateway) -> None:
    # A customer who booked at Manchester and also at Leeds, from Leeds.
    customer_id = first_id(
        gateway,
        select(Booking.customer_id)
        .where(Booking.service_location_id == MANCHESTER)
        .where(Booking.customer_id.in_(select(Booking.customer_id).where(Booking.id.in_(LEEDS_OWN_BOOKINGS)))),
    )
    request = HistoryRequest(customer_id, BookingSort.START_AT_DESC, ALL_ROWS)

    def history(scope: RowScope) -> tuple[set[str], int]:
        async def page(context: Context) -> tuple[set[str], int]:
            result = await context.loaders.get(BookingHistoryByCustomerLoader).load(request)
            return {row.id for row in result.page.rows}, await result.total_count()

        return run(gateway, scope, page)

    scoped, scoped_total = history(ONLY_MANCHESTER)
    everything, everything_total = history(EVERYTHING)
    in_scope = select(Booking.id).where(Booking.customer_id == customer_id, ONLY_MANCHESTER.bookings())
    expected = {row[0] for row in rows(gateway, in_scope)}
    assert scoped == expected and scoped_total == len(expected)
    assert scoped < everything and everything_total == len(everything)


def test_loaders_started_afresh_keep_the_context_s_scope(gateway: RunningGateway) -> None:
    leeds_booking = first_id(gateway, LEEDS_OWN_BOOKINGS)

    async def after_resets(context: Context) -> Any:
        context.reset_loaders()  # as schema/ does after a write, a refresh, or per subscription event
        assert context.loaders.scope == context.scope
        return await context.loaders.booking_by_id.load(leeds_booking)

    assert run(gateway, ONLY_MANCHESTER, after_resets) is None
