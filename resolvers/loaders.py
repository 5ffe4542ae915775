"""The loaders of one request: every domain's DataLoaders, built on first use, all with the request's scope.

The loaders themselves live with their domain (`resolvers/<domain>/loaders.py`, named
`<Entity>By<Key>Loader`); this container only builds and caches them. Each attribute and `get()`
share one cache, so a loader reached either way is the same instance and batches together.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.bookings.loaders import BookingByIdLoader
from resolvers.catalog.loaders import (
    ResourceByIdLoader,
    ResourcesByLocationIdLoader,
    ResourceSharesByResourceIdLoader,
    ServiceByIdLoader,
    ServicesByLocationIdLoader,
)
from resolvers.customers.loaders import (
    ConsentRecordsByCustomerIdLoader,
    CustomerByIdLoader,
    CustomerMappingsByCustomerIdLoader,
    DataSubjectRequestsByCustomerIdLoader,
)
from resolvers.inventory.loaders import StockItemByIdLoader, StockLevelsByItemIdLoader, StockLevelsByLocationIdLoader
from resolvers.loading import BatchLoader
from resolvers.locations.loaders import CountsByLocationIdLoader, LocationByIdLoader
from resolvers.revenue.loaders import RevenueEntriesByBookingIdLoader
from resolvers.scope import RowScope
from resolvers.sync_admin.loaders import (
    ConflictByIdLoader,
    ConflictsBySyncJobIdLoader,
    OutboxMessageByIdLoader,
    SyncJobByIdLoader,
    SyncLogsBySyncJobIdLoader,
)
from settings import Settings

LoaderT = TypeVar("LoaderT", bound=BatchLoader[Any, Any])


class Loaders:
    """Built per request; `scope` is the request's row scope (the context keeps them in step)."""

    def __init__(self, engine: AsyncEngine, settings: Settings, scope: RowScope) -> None:
        self.engine = engine
        self.settings = settings
        self.scope = scope
        self._by_class: dict[type[Any], Any] = {}
        self._references: Loaders | None = None

    def references(self) -> Loaders:
        """The loaders of the catalogue rows (locations, services, resources) a row the caller sees refers to.

        A booking a location manager may see can be served at, or booked from, a location outside their
        scope, with that location's service and resource: the booking names them, so they resolve, as
        `Location!` and `Service!` promise. Only the row itself: everything hanging off it (its bookings,
        stock, counts) goes through the request's own loaders and keeps to the scope. For a caller who
        sees everything these are the request's loaders themselves (no second batch).
        """
        if self.scope.is_everything:
            return self
        if self._references is None:
            self._references = Loaders(self.engine, self.settings, RowScope.everything())
        return self._references

    def get(self, loader_class: type[LoaderT]) -> LoaderT:
        """The request's one loader of that class."""
        loader: LoaderT | None = self._by_class.get(loader_class)
        if loader is None:
            loader = self._by_class[loader_class] = loader_class(self.engine, self.settings, self.scope)
        return loader

    # -- locations --------------------------------------------------------------------------------

    @cached_property
    def location_by_id(self) -> LocationByIdLoader:
        return self.get(LocationByIdLoader)

    @cached_property
    def counts_by_location_id(self) -> CountsByLocationIdLoader:
        return self.get(CountsByLocationIdLoader)

    # -- customers --------------------------------------------------------------------------------

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        return self.get(CustomerByIdLoader)

    @cached_property
    def customer_mappings_by_customer_id(self) -> CustomerMappingsByCustomerIdLoader:
        return self.get(CustomerMappingsByCustomerIdLoader)

    @cached_property
    def consent_records_by_customer_id(self) -> ConsentRecordsByCustomerIdLoader:
        return self.get(ConsentRecordsByCustomerIdLoader)

    @cached_property
    def data_subject_requests_by_customer_id(self) -> DataSubjectRequestsByCustomerIdLoader:
        return self.get(DataSubjectRequestsByCustomerIdLoader)

    # -- catalog ----------------------------------------------------------------------------------

    @cached_property
    def service_by_id(self) -> ServiceByIdLoader:
        return self.get(ServiceByIdLoader)

    @cached_property
    def resource_by_id(self) -> ResourceByIdLoader:
        return self.get(ResourceByIdLoader)

    @cached_property
    def resource_shares_by_resource_id(self) -> ResourceSharesByResourceIdLoader:
        return self.get(ResourceSharesByResourceIdLoader)

    @cached_property
    def services_by_location_id(self) -> ServicesByLocationIdLoader:
        return self.get(ServicesByLocationIdLoader)

    @cached_property
    def resources_by_location_id(self) -> ResourcesByLocationIdLoader:
        return self.get(ResourcesByLocationIdLoader)

    # -- bookings and revenue ---------------------------------------------------------------------

    @cached_property
    def booking_by_id(self) -> BookingByIdLoader:
        return self.get(BookingByIdLoader)

    @cached_property
    def revenue_entries_by_booking_id(self) -> RevenueEntriesByBookingIdLoader:
        return self.get(RevenueEntriesByBookingIdLoader)

    # -- inventory --------------------------------------------------------------------------------

    @cached_property
    def stock_item_by_id(self) -> StockItemByIdLoader:
        return self.get(StockItemByIdLoader)

    @cached_property
    def stock_levels_by_item_id(self) -> StockLevelsByItemIdLoader:
        return self.get(StockLevelsByItemIdLoader)

    @cached_property
    def stock_levels_by_location_id(self) -> StockLevelsByLocationIdLoader:
        return self.get(StockLevelsByLocationIdLoader)

    # -- sync administration ----------------------------------------------------------------------

    @cached_property
    def sync_job_by_id(self) -> SyncJobByIdLoader:
        return self.get(SyncJobByIdLoader)

    @cached_property
    def conflict_by_id(self) -> ConflictByIdLoader:
        return self.get(ConflictByIdLoader)

    @cached_property
    def sync_logs_by_sync_job_id(self) -> SyncLogsBySyncJobIdLoader:
        return self.get(SyncLogsBySyncJobIdLoader)

    @cached_property
    def conflicts_by_sync_job_id(self) -> ConflictsBySyncJobIdLoader:
        return self.get(ConflictsBySyncJobIdLoader)

    @cached_property
    def outbox_message_by_id(self) -> OutboxMessageByIdLoader:
        return self.get(OutboxMessageByIdLoader)
