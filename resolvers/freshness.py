"""The `maxAge` bound of root fields: refresh stale locations live, note where the data came from; and when the
cache changed behind a request, its loaders start afresh."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from resolvers import bounds
from resolvers.context import Context, FreshnessEntry
from resolvers.errors import InvalidInputError
from sync.live.refresh import RefreshScope, Source

__all__ = ["FreshData", "refresh_for_query"]


class FreshData(StrEnum):
    """What a root field reads, as `extensions.freshness` names it."""

    BOOKINGS = "bookings"
    CUSTOMERS = "customers"
    STOCK = "stock"


# What a live refresh of each brings in: a location's bookings and customers come in one refresh.
REFRESHED_BY: Mapping[FreshData, RefreshScope] = {
    FreshData.BOOKINGS: RefreshScope.BOOKINGS_AND_CUSTOMERS,
    FreshData.CUSTOMERS: RefreshScope.BOOKINGS_AND_CUSTOMERS,
    FreshData.STOCK: RefreshScope.STOCK,
}


async def refresh_for_query(
    context: Context, location_ids: Sequence[str] | None, data: FreshData, max_age: int | None
) -> None:
    """Before a root field reads the cache: make the locations it reads no older than `max_age` seconds."""
    bound = context.settings.default_max_age_seconds if max_age is None else max_age
    if bound < 0:
        raise InvalidInputError("`maxAge` cannot be negative", field="maxAge")
    bounds.integer("maxAge", bound, 0, bounds.MAX_AGE_SECONDS)
    services = context.opened_services
    if services is None:
        return
    ids = list(location_ids) if location_ids else [connector.location_id for connector in services.connectors.all()]
    ids = context.scope.visible_locations(ids)  # neither refreshed nor reported: what the caller may not see
    reports = await services.refresher.ensure_fresh(sorted(ids), [REFRESHED_BY[data]], bound)
    context.freshness.extend(FreshnessEntry(data.value, report) for report in reports)
    if any(report.source is Source.LIVE for report in reports):
        # The refresh wrote to the cache: rows loaded before it (by another root field) may be older.
        context.reset_loaders()
