"""Per-request DataLoaders, named <Entity>By<Key>Loader, over the cache tables."""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.loading import BatchLoader, RowByKeyLoader, RowsByKeyLoader
from settings import Settings
from sources.cache.models import (
    Booking,
    Conflict,
    Customer,
    CustomerMapping,
    Location,
    Resource,
    ResourceShare,
    RevenueEntry,
    Service,
    StockItem,
    StockLevel,
    SyncJob,
    SyncLog,
)

LoaderT = TypeVar("LoaderT", bound=BatchLoader[Any, Any])

locations = Location.__table__
customers = Customer.__table__
customer_mappings = CustomerMapping.__table__
services = Service.__table__
resources = Resource.__table__
resource_shares = ResourceShare.__table__
bookings = Booking.__table__
revenue_entries = RevenueEntry.__table__
stock_items = StockItem.__table__
stock_levels = StockLevel.__table__
sync_jobs = SyncJob.__table__
sync_logs = SyncLog.__table__
conflicts = Conflict.__table__


class LocationByIdLoader(RowByKeyLoader):
    key_column = locations.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(locations).where(locations.c.id.in_(keys))


class CustomerByIdLoader(RowByKeyLoader):
    key_column = customers.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(customers).where(customers.c.id.in_(keys))


class ServiceByIdLoader(RowByKeyLoader):
    key_column = services.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(services).where(services.c.id.in_(keys))


class ResourceByIdLoader(RowByKeyLoader):
    key_column = resources.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(resources).where(resources.c.id.in_(keys))


class BookingByIdLoader(RowByKeyLoader):
    key_column = bookings.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(bookings).where(bookings.c.id.in_(keys))


class StockItemByIdLoader(RowByKeyLoader):
    key_column = stock_items.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(stock_items).where(stock_items.c.id.in_(keys))


class SyncJobByIdLoader(RowByKeyLoader):
    key_column = sync_jobs.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(sync_jobs).where(sync_jobs.c.id.in_(keys))


class ConflictByIdLoader(RowByKeyLoader):
    key_column = conflicts.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(conflicts).where(conflicts.c.id.in_(keys))


class SyncLogsBySyncJobIdLoader(RowsByKeyLoader):
    key_name = "sync_job_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(sync_logs)
            .where(sync_logs.c.sync_job_id.in_(keys))
            .order_by(sync_logs.c.sync_job_id, sync_logs.c.started_at, sync_logs.c.id)
        )


class ConflictsBySyncJobIdLoader(RowsByKeyLoader):
    key_name = "sync_job_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(conflicts)
            .where(conflicts.c.sync_job_id.in_(keys))
            .order_by(conflicts.c.sync_job_id, conflicts.c.created_at, conflicts.c.id)
        )


class RevenueEntriesByBookingIdLoader(RowsByKeyLoader):
    key_name = "booking_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(revenue_entries)
            .where(revenue_entries.c.booking_id.in_(keys))
            .order_by(revenue_entries.c.booking_id, revenue_entries.c.id)
        )


class CustomerMappingsByCustomerIdLoader(RowsByKeyLoader):
    key_name = "customer_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(customer_mappings)
            .where(customer_mappings.c.customer_id.in_(keys))
            .order_by(customer_mappings.c.customer_id, customer_mappings.c.id)
        )


class ResourceSharesByResourceIdLoader(RowsByKeyLoader):
    key_name = "resource_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(resource_shares)
            .where(resource_shares.c.resource_id.in_(keys), resource_shares.c.is_active.is_(True))
            .order_by(resource_shares.c.resource_id, resource_shares.c.location_id)
        )


class StockLevelsByItemIdLoader(RowsByKeyLoader):
    key_name = "item_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(stock_levels)
            .where(stock_levels.c.item_id.in_(keys))
            .order_by(stock_levels.c.item_id, stock_levels.c.location_id)
        )


class StockLevelsByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(stock_levels)
            .where(stock_levels.c.location_id.in_(keys))
            .order_by(stock_levels.c.location_id, stock_levels.c.item_id)
        )


class ServicesByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(services)
            .where(services.c.location_id.in_(keys))
            .order_by(services.c.location_id, services.c.category, services.c.name)
        )


class ResourcesByLocationIdLoader(RowsByKeyLoader):
    key_name = "location_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(resources)
            .where(resources.c.location_id.in_(keys))
            .order_by(resources.c.location_id, resources.c.kind, resources.c.name)
        )


class CountsByLocationIdLoader(BatchLoader[str, dict[str, int]]):
    """How many bookings, customers, services and resources each location has, in 4 statements."""

    async def fetch(self, keys: list[str]) -> list[dict[str, int]]:
        counted = {
            "bookings": (bookings.c.service_location_id, bookings),
            "customers": (customer_mappings.c.location_id, customer_mappings),
            "services": (services.c.location_id, services),
            "resources": (resources.c.location_id, resources),
        }
        counts: dict[str, dict[str, int]] = {key: dict.fromkeys(counted, 0) for key in keys}
        async with self.engine.connect() as connection:
            for name, (column, table) in counted.items():
                statement = select(column, func.count()).select_from(table).where(column.in_(keys)).group_by(column)
                for location_id, count in await connection.execute(statement):
                    counts[location_id][name] = count
        return [counts[key] for key in keys]


class Loaders:
    """The loaders of one request, built on first use."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._by_class: dict[type[Any], Any] = {}

    def get(self, loader_class: type[LoaderT]) -> LoaderT:
        """A loader defined next to its domain's resolvers, built with (engine, settings)."""
        loader = self._by_class.get(loader_class)
        if loader is None:
            loader = self._by_class[loader_class] = loader_class(self.engine, self.settings)  # type: ignore[call-arg]
        return loader

    @cached_property
    def location_by_id(self) -> LocationByIdLoader:
        return LocationByIdLoader(self.engine)

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        return CustomerByIdLoader(self.engine)

    @cached_property
    def service_by_id(self) -> ServiceByIdLoader:
        return ServiceByIdLoader(self.engine)

    @cached_property
    def resource_by_id(self) -> ResourceByIdLoader:
        return ResourceByIdLoader(self.engine)

    @cached_property
    def booking_by_id(self) -> BookingByIdLoader:
        return BookingByIdLoader(self.engine)

    @cached_property
    def stock_item_by_id(self) -> StockItemByIdLoader:
        return StockItemByIdLoader(self.engine)

    @cached_property
    def revenue_entries_by_booking_id(self) -> RevenueEntriesByBookingIdLoader:
        return RevenueEntriesByBookingIdLoader(self.engine)

    @cached_property
    def customer_mappings_by_customer_id(self) -> CustomerMappingsByCustomerIdLoader:
        return CustomerMappingsByCustomerIdLoader(self.engine)

    @cached_property
    def resource_shares_by_resource_id(self) -> ResourceSharesByResourceIdLoader:
        return ResourceSharesByResourceIdLoader(self.engine)

    @cached_property
    def stock_levels_by_item_id(self) -> StockLevelsByItemIdLoader:
        return StockLevelsByItemIdLoader(self.engine)

    @cached_property
    def stock_levels_by_location_id(self) -> StockLevelsByLocationIdLoader:
        return StockLevelsByLocationIdLoader(self.engine)

    @cached_property
    def services_by_location_id(self) -> ServicesByLocationIdLoader:
        return ServicesByLocationIdLoader(self.engine)

    @cached_property
    def resources_by_location_id(self) -> ResourcesByLocationIdLoader:
        return ResourcesByLocationIdLoader(self.engine)

    @cached_property
    def counts_by_location_id(self) -> CountsByLocationIdLoader:
        return CountsByLocationIdLoader(self.engine)

    @cached_property
    def sync_job_by_id(self) -> SyncJobByIdLoader:
        return SyncJobByIdLoader(self.engine)

    @cached_property
    def conflict_by_id(self) -> ConflictByIdLoader:
        return ConflictByIdLoader(self.engine)

    @cached_property
    def sync_logs_by_sync_job_id(self) -> SyncLogsBySyncJobIdLoader:
        return SyncLogsBySyncJobIdLoader(self.engine)

    @cached_property
    def conflicts_by_sync_job_id(self) -> ConflictsBySyncJobIdLoader:
        return ConflictsBySyncJobIdLoader(self.engine)
