"""The row scope: every list and its totalCount, every aggregate and the schema's root fields apply it.

The real resolvers and schema run with a narrower scope over the demo network, on both databases
(tests/scope_helpers.py); loaders, so node(id) and relations, are in tests/test_row_scope_loaders.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
    count,
    first_id,
    listed,
    rows,
    run,
)
from sqlalchemy import Select, func, or_, select

from conftest import RunningGateway
from resolvers.bookings.queries import BookingFilter, list_bookings
from resolvers.bookings.vocabulary import BookingSort
from resolvers.catalog.queries import ResourceFilter, ServiceFilter, list_resources, list_services
from resolvers.context import Context
from resolvers.customers.queries import CustomerFilter, duplicate_customer_groups, list_customers
from resolvers.freshness import FreshData, refresh_for_query
from resolvers.inventory.queries import InventoryFilter, list_stock_items
from resolvers.listing import ListResult
from resolvers.locations.health import network_health
from resolvers.locations.queries import LocationFilter, list_locations
from resolvers.pagination import PageArgs
from resolvers.revenue.queries import RevenueGrouping, revenue_report
from resolvers.scope import TRUE, RowScope
from resolvers.sync_admin.outbox import list_outbox_messages
from resolvers.sync_admin.queries import ConflictFilter, SyncJobFilter, list_conflicts, list_sync_jobs
from schema import build_schema
from sources.cache.models import (
    Booking,
    Conflict,
    Customer,
    Location,
    OutboxMessage,
    Resource,
    RevenueEntry,
    Service,
    StockItem,
    SyncJob,
)

# -- lists and their totalCount ------------------------------------------------------------------


def test_bookings_listed_and_counted_are_those_served_at_or_booked_from_the_scope_s_locations(
    gateway: RunningGateway,
) -> None:
    page, total = listed(
        gateway, ONLY_MANCHESTER, lambda c: list_bookings(c, BookingFilter(), BookingSort.START_AT_ASC, ALL_ROWS)
    )
    _, everything = listed(
        gateway,
        RowScope.everything(),
        lambda c: list_bookings(c, BookingFilter(), BookingSort.START_AT_ASC, PageArgs(first=1)),
    )

    at_manchester = select(Booking.id).where(
        or_(Booking.service_location_id == MANCHESTER, Booking.originating_location_id == MANCHESTER)
    )
    assert total == count(gateway, at_manchester)
    assert 0 < total < everything == count(gateway, select(Booking.id))
    assert page and all(MANCHESTER in (row.service_location_id, row.originating_location_id) for row in page)


def test_a_filter_on_another_location_finds_only_what_the_scope_shows_there(gateway: RunningGateway) -> None:
    # Bookings served at Leeds and booked from Manchester are in scope; Leeds' own are not.
    page, total = listed(
        gateway,
        ONLY_MANCHESTER,
        lambda c: list_bookings(c, BookingFilter(service_location_ids=[LEEDS]), BookingSort.START_AT_ASC, ALL_ROWS),
    )
    assert total == len(page) > 0
    assert {row.originating_location_id for row in page} == {MANCHESTER}


def test_every_other_domain_s_list_and_total_keep_to_the_scope(gateway: RunningGateway) -> None:
    expected: dict[str, tuple[Callable[[Context], Awaitable[ListResult]], Select[Any]]] = {
        "locations": (
            lambda c: list_locations(c, LocationFilter(), ALL_ROWS),
            select(Location.id).where(Location.id == MANCHESTER),
        ),
        "customers": (lambda c: list_customers(c, CustomerFilter(), ALL_ROWS), KNOWN_AT_MANCHESTER),
        "services": (
            lambda c: list_services(c, ServiceFilter(active_only=False), ALL_ROWS),
            select(Service.id).where(Service.location_id == MANCHESTER),
        ),
        "resources": (
            lambda c: list_resources(c, ResourceFilter(), ALL_ROWS),
            select(Resource.id).where(or_(Resource.location_id == MANCHESTER, Resource.id.in_(LENT_TO_MANCHESTER))),
        ),
        "stock items": (
            lambda c: list_stock_items(c, InventoryFilter(), ALL_ROWS),
            select(StockItem.id).where(StockItem.id.in_(HELD_AT_MANCHESTER)),
        ),
        "sync jobs": (
            lambda c: list_sync_jobs(c, SyncJobFilter(), ALL_ROWS),
            select(SyncJob.id).where(SyncJob.location_id == MANCHESTER),
        ),
        "conflicts": (
            lambda c: list_conflicts(c, ConflictFilter(), ALL_ROWS),
            select(Conflict.id).where(
                or_(Conflict.source_location_id == MANCHESTER, Conflict.target_location_id == MANCHESTER)
            ),
        ),
    }
    for name, (query, in_scope) in expected.items():
        page, total = listed(gateway, ONLY_MANCHESTER, query)
        _, everything = listed(gateway, RowScope.everything(), query)
        ids = rows(gateway, in_scope)
        assert total == len(ids), name
        assert {row.id for row in page} == {row[0] for row in ids}, name  # each fits on one page
        assert total <= everything, name
        # The demo's three conflicts fall where its seed puts them: Manchester need not be on either side.
        assert name == "conflicts" or total > 0, name
    # Manchester holds fewer than every item, knows fewer than every customer, owns fewer than every resource.
    for query, _ in (expected["customers"], expected["resources"], expected["stock items"]):
        assert listed(gateway, ONLY_MANCHESTER, query)[1] < listed(gateway, RowScope.everything(), query)[1]


def test_the_outbox_and_duplicate_customers_keep_to_the_scope(gateway: RunningGateway) -> None:
    waiting = rows(gateway, select(OutboxMessage.id, OutboxMessage.location_id))
    assert waiting, "the demo network queues writes for a location"
    for location_id in {location for _, location in waiting}:
        seen = run(gateway, RowScope.of_locations({location_id}), lambda c: list_outbox_messages(c, None, None, 500))
        assert {row.id for row in seen} == {key for key, location in waiting if location == location_id}
    assert run(gateway, RowScope.of_locations(set()), lambda c: list_outbox_messages(c, None, None, 500)) == []

    groups = run(gateway, ONLY_MANCHESTER, lambda c: duplicate_customer_groups(c))
    visible = {row[0] for row in rows(gateway, select(Customer.id).where(ONLY_MANCHESTER.customers()))}
    assert all(set(group) <= visible for group in groups)


# -- aggregates -----------------------------------------------------------------------------------


def test_the_revenue_report_sums_only_what_the_scope_s_locations_earned(gateway: RunningGateway) -> None:
    first_day, last_day = rows(
        gateway, select(func.min(RevenueEntry.business_date), func.max(RevenueEntry.business_date))
    )[0]
    start, end = max(first_day, last_day - timedelta(days=3 * 365)), last_day

    def report(scope: RowScope) -> Any:
        return run(gateway, scope, lambda c: revenue_report(c, start, end, RevenueGrouping.LOCATION))

    scoped, everything = report(ONLY_MANCHESTER), report(RowScope.everything())

    assert {row.location_id for row in scoped.rows} == {MANCHESTER}
    manchester_rows = {row.currency: row for row in everything.rows if row.location_id == MANCHESTER}
    assert {row.currency: row.gross_minor for row in scoped.rows} == {
        currency: row.gross_minor for currency, row in manchester_rows.items()
    }
    # The totals are the scope's too: what Manchester earned, not the network.
    assert {row.currency: row.gross_minor for row in scoped.totals} == {
        currency: row.gross_minor for currency, row in manchester_rows.items()
    }
    network = sum(row.gross_minor for row in everything.totals)
    assert sum(row.gross_minor for row in scoped.totals) < network


def test_network_health_reports_only_the_scope_s_locations(gateway: RunningGateway) -> None:
    scoped = run(gateway, ONLY_MANCHESTER, network_health)
    everything = run(gateway, RowScope.everything(), network_health)
    assert [row.location_id for row in scoped] == [MANCHESTER]
    assert scoped == [row for row in everything if row.location_id == MANCHESTER]
    # A customer sees the locations, and none of their operational rows.
    as_customer = run(gateway, RowScope.of_customer("cus_anyone"), network_health)
    assert [row.location_id for row in as_customer] == [row.location_id for row in everything]
    assert all(row.pending_conflicts == row.queue_depth == row.dead_letters == 0 for row in as_customer)
    assert all(row.last_sync_job_id is None for row in as_customer)


def test_the_max_age_refresh_and_its_report_cover_only_the_scope_s_locations(gateway: RunningGateway) -> None:
    async def reported(context: Context) -> set[str]:
        await refresh_for_query(context, None, FreshData.BOOKINGS, 3600)
        return {entry.report.location_id for entry in context.freshness}

    assert run(gateway, ONLY_MANCHESTER, reported) == {MANCHESTER}
    assert run(gateway, RowScope.everything(), reported) == {
        connector.location_id for connector in gateway.app.state.services.connectors.all()
    }


# -- through the schema ---------------------------------------------------------------------------

NODE_AND_LISTS = """
query($other: ID!, $own: ID!) {
  other: node(id: $other) { id }
  own: node(id: $own) { id }
  bookings(first: 1) { totalCount }
  locations { totalCount nodes { id } }
}
"""


def test_node_and_lists_through_the_schema_apply_the_context_s_scope(gateway: RunningGateway) -> None:
    schema = build_schema()
    leeds_booking = first_id(gateway, LEEDS_OWN_BOOKINGS)
    own_booking = first_id(gateway, select(Booking.id).where(Booking.service_location_id == MANCHESTER))
    variables = {"other": f"Booking:{leeds_booking}", "own": f"Booking:{own_booking}"}

    async def execute(context: Context) -> Any:
        return await schema.execute(NODE_AND_LISTS, variable_values=variables, context_value=context)

    result = run(gateway, ONLY_MANCHESTER, execute)
    assert result.data["other"] is None
    assert [error.extensions["code"] for error in result.errors] == ["NOT_FOUND"]
    assert result.data["own"] == {"id": f"Booking:{own_booking}"}
    assert result.data["locations"] == {"totalCount": 1, "nodes": [{"id": f"Location:{MANCHESTER}"}]}
    in_scope = select(Booking.id).where(ONLY_MANCHESTER.bookings())
    assert result.data["bookings"]["totalCount"] == count(gateway, in_scope)

    unrestricted = run(gateway, RowScope.everything(), execute)
    assert unrestricted.errors is None
    assert unrestricted.data["other"] == {"id": f"Booking:{leeds_booking}"}
    assert unrestricted.data["bookings"]["totalCount"] == count(gateway, select(Booking.id))


# -- the scope itself ------------------------------------------------------------------------------


def test_a_customer_scope_sees_their_own_record_and_bookings_and_no_operational_rows(
    gateway: RunningGateway,
) -> None:
    customer_id = first_id(gateway, select(Booking.customer_id).group_by(Booking.customer_id).having(func.count() > 1))
    own = RowScope.of_customer(customer_id)

    _, bookings = listed(gateway, own, lambda c: list_bookings(c, BookingFilter(), BookingSort.START_AT_ASC, ALL_ROWS))
    customers, total = listed(gateway, own, lambda c: list_customers(c, CustomerFilter(), ALL_ROWS))
    assert bookings == count(gateway, select(Booking.id).where(Booking.customer_id == customer_id)) > 1
    assert [row.id for row in customers] == [customer_id] and total == 1
    assert listed(gateway, own, lambda c: list_sync_jobs(c, SyncJobFilter(), ALL_ROWS))[1] == 0
    assert listed(gateway, own, lambda c: list_locations(c, LocationFilter(), ALL_ROWS))[1] == count(
        gateway, select(Location.id)
    )


def test_everything_restricts_nothing_and_adds_no_condition() -> None:
    everything = RowScope.everything()
    domains = [
        name
        for name, _ in inspect.getmembers(RowScope, inspect.isfunction)
        if not name.startswith("_") and name not in {"everything", "of_locations", "of_customer", "visible_locations"}
    ]
    assert len(domains) >= 12
    assert all(getattr(everything, name)() is TRUE for name in domains)
    statement = select(Booking.id).where(Booking.status == "confirmed")
    assert str(statement.where(everything.bookings())) == str(statement)
    assert everything.is_everything and not ONLY_MANCHESTER.is_everything
