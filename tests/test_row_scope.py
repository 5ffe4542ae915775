"""The row scope: every list, count, aggregate, node lookup and loader of a domain applies it.

Authentication is not there yet, so a scope cannot arrive over HTTP: these tests build the request
context a served request gets, with a narrower scope, and run the real resolver functions (and the
real schema) with it, in the gateway's own event loop, over the demo network on both databases.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Executable, Select, func, or_, select

from conftest import RunningGateway
from resolvers.bookings.loaders import BookingHistoryByCustomerLoader, HistoryRequest
from resolvers.bookings.queries import BookingFilter, list_bookings
from resolvers.bookings.vocabulary import BookingSort
from resolvers.catalog.loaders import ResourceByLocalIdLoader
from resolvers.catalog.queries import ResourceFilter, ServiceFilter, list_resources, list_services
from resolvers.context import Context
from resolvers.customers.queries import CustomerFilter, duplicate_customer_groups, list_customers
from resolvers.freshness import refresh_for_query
from resolvers.inventory.queries import InventoryFilter, list_stock_items
from resolvers.listing import ListResult
from resolvers.loaders import Loaders
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
    CustomerMapping,
    Location,
    OutboxMessage,
    Resource,
    ResourceShare,
    RevenueEntry,
    Service,
    StockItem,
    StockLevel,
    SyncJob,
    SyncLog,
)
from sync.live.refresh import DataKind

T = TypeVar("T")

MANCHESTER = "manchester-central"
LEEDS = "leeds-headingley"
ONLY_MANCHESTER = RowScope.of_locations({MANCHESTER})
ALL_ROWS = PageArgs(first=500)

LENT_TO_MANCHESTER = select(ResourceShare.resource_id).where(
    ResourceShare.location_id == MANCHESTER, ResourceShare.is_active
)
KNOWN_AT_MANCHESTER = select(Customer.id).where(
    or_(
        Customer.primary_location_id == MANCHESTER,
        Customer.id.in_(select(CustomerMapping.customer_id).where(CustomerMapping.location_id == MANCHESTER)),
    )
)
HELD_AT_MANCHESTER = select(StockLevel.item_id).where(StockLevel.location_id == MANCHESTER)
LEEDS_OWN_BOOKINGS = select(Booking.id).where(
    Booking.service_location_id == LEEDS, Booking.originating_location_id == LEEDS
)


def run(gateway: RunningGateway, scope: RowScope, work: Callable[[Context], Awaitable[T]]) -> T:
    """`work` with a request context like a served request's, but with `scope`."""
    state = gateway.app.state

    async def in_context() -> T:
        context = Context(
            engine=state.engine,
            settings=state.settings,
            bus=state.bus,
            request_id="row-scope-test",
            opened_services=state.services,
            scope=scope,
        )
        return await work(context)

    return gateway.run(in_context())


def rows(gateway: RunningGateway, statement: Executable) -> list[Any]:
    async def fetch() -> list[Any]:
        async with gateway.engine.connect() as connection:
            return list((await connection.execute(statement)).all())

    return gateway.run(fetch())


def count(gateway: RunningGateway, statement: Select[Any]) -> int:
    return int(rows(gateway, select(func.count()).select_from(statement.subquery()))[0][0])


def listed(
    gateway: RunningGateway, scope: RowScope, query: Callable[[Context], Awaitable[ListResult]]
) -> tuple[list[Any], int]:
    """(the rows of the first page, totalCount) of a list query."""

    async def page_and_total(context: Context) -> tuple[list[Any], int]:
        result = await query(context)
        return result.page.rows, await result.total_count()

    return run(gateway, scope, page_and_total)


def load(gateway: RunningGateway, scope: RowScope, loader_of: Callable[[Loaders], Any], key: Any) -> Any:
    async def loaded(context: Context) -> Any:
        return await loader_of(context.loaders).load(key)

    return run(gateway, scope, loaded)


def first_id(gateway: RunningGateway, statement: Select[Any]) -> Any:
    found = rows(gateway, statement.limit(1))
    assert found, f"the demo network has no row for {statement}"
    return found[0][0]


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
        assert 0 < total <= everything, name
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
    assert run(gateway, RowScope.of_customer("cus_anyone"), network_health)[0].pending_conflicts == 0


def test_the_max_age_refresh_and_its_report_cover_only_the_scope_s_locations(gateway: RunningGateway) -> None:
    async def reported(context: Context) -> set[str]:
        await refresh_for_query(context, None, [DataKind.BOOKINGS], 3600)
        return {item.location_id for item in context.freshness}

    assert run(gateway, ONLY_MANCHESTER, reported) == {MANCHESTER}
    assert run(gateway, RowScope.everything(), reported) == {
        connector.location_id for connector in gateway.app.state.services.connectors.all()
    }


# -- node(id) and relations: every loader ---------------------------------------------------------

# Every loader the request's Loaders builds; the test below must check each one.
CHECKED_LOADERS = (
    "booking_by_id",
    "conflict_by_id",
    "conflicts_by_sync_job_id",
    "counts_by_location_id",
    "customer_by_id",
    "customer_mappings_by_customer_id",
    "location_by_id",
    "resource_by_id",
    "resource_shares_by_resource_id",
    "resources_by_location_id",
    "revenue_entries_by_booking_id",
    "service_by_id",
    "services_by_location_id",
    "stock_item_by_id",
    "stock_levels_by_item_id",
    "stock_levels_by_location_id",
    "sync_job_by_id",
    "sync_logs_by_sync_job_id",
)


def test_the_checked_loaders_are_every_loader_there_is() -> None:
    built = {name for name, value in inspect.getmembers(Loaders) if isinstance(value, cached_property)}
    assert built == set(CHECKED_LOADERS)


def test_loaders_find_nothing_outside_the_scope_and_everything_inside_it(gateway: RunningGateway) -> None:
    def by_key(name: str, key: Any, scope: RowScope = ONLY_MANCHESTER) -> Any:
        return load(gateway, scope, lambda loaders: getattr(loaders, name), key)

    leeds_booking = first_id(gateway, LEEDS_OWN_BOOKINGS)
    manchester_booking = first_id(gateway, select(Booking.id).where(Booking.service_location_id == MANCHESTER))
    assert by_key("booking_by_id", leeds_booking) is None
    assert by_key("booking_by_id", manchester_booking).id == manchester_booking

    assert by_key("location_by_id", LEEDS) is None
    assert by_key("location_by_id", MANCHESTER).id == MANCHESTER

    leeds_service = first_id(gateway, select(Service.id).where(Service.location_id == LEEDS))
    assert by_key("service_by_id", leeds_service) is None
    assert by_key("services_by_location_id", LEEDS) == []
    assert by_key("services_by_location_id", MANCHESTER)

    lent_in = {row[0] for row in rows(gateway, LENT_TO_MANCHESTER)}
    leeds_resources = rows(
        gateway, select(Resource.id, Resource.local_resource_id).where(Resource.location_id == LEEDS)
    )
    kept_at_leeds = next(key for key, _ in leeds_resources if key not in lent_in)
    assert by_key("resource_by_id", kept_at_leeds) is None
    assert {row.id for row in by_key("resources_by_location_id", LEEDS)} == {
        key for key, _ in leeds_resources if key in lent_in
    }
    local_id = next(local for key, local in leeds_resources if key == kept_at_leeds)
    resource_at_leeds = load(
        gateway, RowScope.everything(), lambda loaders: loaders.get(ResourceByLocalIdLoader), (LEEDS, local_id)
    )
    assert resource_at_leeds.id == kept_at_leeds
    assert (
        load(gateway, ONLY_MANCHESTER, lambda loaders: loaders.get(ResourceByLocalIdLoader), (LEEDS, local_id)) is None
    )

    # A resource Manchester owns: every lending shows; one lent between two other locations: none.
    manchester_resource = first_id(
        gateway,
        select(ResourceShare.resource_id)
        .join(Resource, Resource.id == ResourceShare.resource_id)
        .where(Resource.location_id == MANCHESTER, ResourceShare.is_active),
    )
    elsewhere_resource = first_id(
        gateway,
        select(ResourceShare.resource_id)
        .join(Resource, Resource.id == ResourceShare.resource_id)
        .where(Resource.location_id != MANCHESTER, ResourceShare.location_id != MANCHESTER, ResourceShare.is_active)
        .where(
            ResourceShare.resource_id.not_in(
                select(ResourceShare.resource_id).where(ResourceShare.location_id == MANCHESTER)
            )
        ),
    )
    assert by_key("resource_shares_by_resource_id", manchester_resource) == by_key(
        "resource_shares_by_resource_id", manchester_resource, RowScope.everything()
    )
    assert by_key("resource_shares_by_resource_id", elsewhere_resource) == []

    stranger = first_id(gateway, select(Customer.id).where(Customer.id.not_in(KNOWN_AT_MANCHESTER)))
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
    assert by_key("customer_by_id", stranger) is None
    assert by_key("customer_by_id", regular).id == regular
    assert [row.location_id for row in by_key("customer_mappings_by_customer_id", regular)] == [MANCHESTER]

    cross = first_id(
        gateway,
        select(Booking.id)
        .where(Booking.originating_location_id == MANCHESTER, Booking.service_location_id == LEEDS)
        .where(Booking.id.in_(select(RevenueEntry.booking_id))),
    )
    assert {row.location_id for row in by_key("revenue_entries_by_booking_id", cross)} == {MANCHESTER}
    assert {row.location_id for row in by_key("revenue_entries_by_booking_id", cross, RowScope.everything())} == {
        MANCHESTER,
        LEEDS,
    }

    not_held = first_id(gateway, select(StockItem.id).where(StockItem.id.not_in(HELD_AT_MANCHESTER)))
    held = first_id(gateway, HELD_AT_MANCHESTER)
    assert by_key("stock_item_by_id", not_held) is None
    assert by_key("stock_item_by_id", held).id == held
    assert [row.location_id for row in by_key("stock_levels_by_item_id", held)] == [MANCHESTER]
    assert by_key("stock_levels_by_location_id", LEEDS) == []
    assert by_key("stock_levels_by_location_id", MANCHESTER)

    leeds_job = first_id(gateway, select(SyncJob.id).where(SyncJob.location_id == LEEDS))
    manchester_job = first_id(
        gateway,
        select(SyncJob.id).where(SyncJob.location_id == MANCHESTER, SyncJob.id.in_(select(SyncLog.sync_job_id))),
    )
    assert by_key("sync_job_by_id", leeds_job) is None
    assert by_key("sync_logs_by_sync_job_id", leeds_job) == []
    assert by_key("sync_logs_by_sync_job_id", manchester_job)
    elsewhere_conflict = rows(
        gateway,
        select(Conflict.id, Conflict.sync_job_id).where(
            Conflict.source_location_id != MANCHESTER,
            or_(Conflict.target_location_id.is_(None), Conflict.target_location_id != MANCHESTER),
        ),
    )
    assert elsewhere_conflict, "the demo network has a conflict between two other locations"
    conflict_id, its_job = elsewhere_conflict[0]
    assert by_key("conflict_by_id", conflict_id) is None
    if its_job is not None:
        assert by_key("conflicts_by_sync_job_id", its_job) == []

    counts = by_key("counts_by_location_id", MANCHESTER)
    assert counts == by_key("counts_by_location_id", MANCHESTER, RowScope.everything())
    assert by_key("counts_by_location_id", LEEDS)["services"] == 0


def test_a_customer_s_booking_history_holds_only_bookings_in_scope(gateway: RunningGateway) -> None:
    # A customer who booked both at Manchester (or from it) and elsewhere.
    customer_id = first_id(
        gateway,
        select(Booking.customer_id)
        .where(Booking.service_location_id == MANCHESTER)
        .where(
            Booking.customer_id.in_(
                select(Booking.customer_id).where(
                    Booking.service_location_id == LEEDS, Booking.originating_location_id == LEEDS
                )
            )
        ),
    )
    request = HistoryRequest(customer_id, BookingSort.START_AT_DESC, ALL_ROWS)

    def history(scope: RowScope) -> tuple[set[str], int]:
        async def page(context: Context) -> tuple[set[str], int]:
            result = await context.loaders.get(BookingHistoryByCustomerLoader).load(request)
            return {row.id for row in result.page.rows}, await result.total_count()

        return run(gateway, scope, page)

    scoped, scoped_total = history(ONLY_MANCHESTER)
    everything, everything_total = history(RowScope.everything())
    expected = {
        row[0]
        for row in rows(
            gateway,
            select(Booking.id).where(Booking.customer_id == customer_id, ONLY_MANCHESTER.bookings()),
        )
    }
    assert scoped == expected and scoped_total == len(expected)
    assert scoped < everything and everything_total == len(everything)


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
        for name, member in inspect.getmembers(RowScope, inspect.isfunction)
        if not name.startswith("_") and name not in {"everything", "of_locations", "of_customer", "visible_locations"}
    ]
    assert len(domains) >= 12
    assert all(getattr(everything, name)() is TRUE for name in domains)
    statement = select(Booking.id).where(Booking.status == "confirmed")
    assert str(statement.where(everything.bookings())) == str(statement)
    assert everything.is_everything and not ONLY_MANCHESTER.is_everything


def test_loaders_replaced_by_schema_code_keep_the_context_s_scope(gateway: RunningGateway) -> None:
    leeds_booking = first_id(gateway, LEEDS_OWN_BOOKINGS)

    async def after_a_reset(context: Context) -> Any:
        context.loaders = Loaders(context.engine, context.settings)  # as schema/ resets them after a write
        assert context.loaders.scope == context.scope
        context.reset_loaders()
        return await context.loaders.booking_by_id.load(leeds_booking)

    assert run(gateway, ONLY_MANCHESTER, after_a_reset) is None
