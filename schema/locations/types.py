"""Locations of the network: what they are, where they are, and what they hold."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.ids import to_global_id
from resolvers.loading import load_now
from schema.money import percent_from_basis_points
from schema.relay import Node

if TYPE_CHECKING:
    from schema.catalog.types import Resource, ResourceKind, Service
    from schema.inventory.types import StockLevel


@strawberry.enum(description="The kind of system a location runs, which decides how the gateway talks to it.")
class LocationKind(Enum):
    BOOKINGX = strawberry.enum_value("bookingx", description="A BookingX site on the network API.")
    ONEBOOKING = strawberry.enum_value("onebooking", description="A source website pushing bookings OneBooking-style.")
    PLATFORM = strawberry.enum_value("platform", description="An external salon or fitness booking platform.")
    PMS = strawberry.enum_value("pms", description="A hotel property management system.")


@strawberry.enum(description="Whether the gateway can currently reach a location.")
class LocationStatus(Enum):
    ONLINE = strawberry.enum_value("online", description="Answering normally.")
    DEGRADED = strawberry.enum_value("degraded", description="Answering slowly or with errors.")
    OFFLINE = strawberry.enum_value("offline", description="Not answering; its data is served from cache.")


@strawberry.type(description="A point on the map (WGS 84).")
class GeoPoint:
    latitude: float = strawberry.field(description="Degrees north.")
    longitude: float = strawberry.field(description="Degrees east.")


@strawberry.type(description="How much a location holds in the cache.")
class LocationCounts:
    bookings: int = strawberry.field(description="Bookings served at this location.")
    customers: int = strawberry.field(description="Customers this location knows (has a local id for).")
    services: int = strawberry.field(description="Services this location offers.")
    resources: int = strawberry.field(description="Staff, rooms and equipment this location owns.")


@strawberry.federation.type(
    keys=["id"], description="A booking location: a site, a source website, a platform account or a hotel."
)
class Location(Node):
    network_id: str = strawberry.field(description="The location's slug, unique across the network.")
    name: str = strawberry.field(description="Display name.")
    kind: LocationKind = strawberry.field(description="What kind of system the location runs.")
    status: LocationStatus = strawberry.field(description="Reachability as last observed.")
    is_hub: bool = strawberry.field(description="True for the network's hub location.")
    town: str = strawberry.field(description="Town or city.")
    timezone: str = strawberry.field(description="IANA timezone, e.g. Europe/London.")
    currency: str = strawberry.field(description="ISO 4217 currency its prices are in.")
    tax_rate_percent: Decimal = strawberry.field(description="Sales tax included in its prices, in percent.")
    commission_rate_percent: Decimal = strawberry.field(description="Network commission on its revenue, in percent.")
    geo: GeoPoint = strawberry.field(description="Where it is.")
    base_url: str = strawberry.field(description="Where the gateway reaches its API.")
    version: str | None = strawberry.field(description="Software version the location reported.")
    last_heartbeat_at: datetime | None = strawberry.field(description="Last successful health check.")
    last_sync_at: datetime | None = strawberry.field(description="Last completed sync with the cache.")
    retired_at: datetime | None = strawberry.field(
        description="When the network file stopped naming it: its records are kept, it is no longer reached, "
        "synced or listed by `locations`. Null while it is part of the network."
    )

    @classmethod
    def from_row(cls, row: Any) -> Location:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        return cls(
            id=strawberry.ID(to_global_id("Location", row["id"])),
            network_id=row["id"],
            name=row["name"],
            kind=LocationKind(row["kind"]),
            status=LocationStatus(row["status"]),
            is_hub=row["is_hub"],
            town=row["town"],
            timezone=row["timezone"],
            currency=row["currency"],
            tax_rate_percent=percent_from_basis_points(row["tax_rate_bp"]),
            commission_rate_percent=percent_from_basis_points(row["commission_rate_bp"]),
            geo=GeoPoint(latitude=row["latitude"], longitude=row["longitude"]),
            base_url=row["base_url"],
            version=row["version"],
            last_heartbeat_at=row["last_heartbeat_at"],
            last_sync_at=row["last_sync_at"],
            retired_at=row.get("retired_at"),
        )

    @strawberry.field(description="Services offered here.")
    async def services(self, info: Info) -> list[Annotated[Service, strawberry.lazy("schema.catalog.types")]]:
        from schema.catalog.types import Service

        rows = await info.context.loaders.services_by_location_id.load(self.network_id)
        return [Service.from_row(row) for row in rows]

    @strawberry.field(description="Staff, rooms and equipment owned here (not those lent to it).")
    async def resources(
        self,
        info: Info,
        kind: Annotated[
            Annotated[ResourceKind, strawberry.lazy("schema.catalog.types")] | None,
            strawberry.argument(description="Only staff, rooms or equipment."),
        ] = None,
    ) -> list[Annotated[Resource, strawberry.lazy("schema.catalog.types")]]:
        from schema.catalog.types import Resource

        rows = await info.context.loaders.resources_by_location_id.load(self.network_id)
        return [Resource.from_row(row) for row in rows if not kind or row.kind == str(kind.value)]

    @strawberry.field(description="Stock levels held here.")
    async def stock(
        self,
        info: Info,
        low_stock_only: Annotated[
            bool, strawberry.argument(description="Only items at or under their reorder point.")
        ] = False,
    ) -> list[Annotated[StockLevel, strawberry.lazy("schema.inventory.types")]]:
        from schema.inventory.types import StockLevel

        rows = await info.context.loaders.stock_levels_by_location_id.load(self.network_id)
        levels = [StockLevel.from_row(row) for row in rows]
        return [level for level in levels if level.is_low] if low_stock_only else levels

    @strawberry.field(description="How many bookings, customers, services and resources it has.")
    async def counts(self, info: Info) -> LocationCounts:
        counts = await info.context.loaders.counts_by_location_id.load(self.network_id)
        return LocationCounts(**counts)


def location_by_id(info: Info, location_id: str) -> Location | Awaitable[Location]:
    """A location relation (a row the caller sees names it), resolved synchronously when prefetched."""
    return load_now(info.context.loaders.references().location_by_id, location_id, Location.from_row)
