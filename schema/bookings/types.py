"""Bookings, their money and how it is split between locations."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.bookings.vocabulary import BookingRelation
from resolvers.bookings.vocabulary import BookingSort as BookingSort  # the GraphQL enums are the domain's own
from resolvers.bookings.vocabulary import BookingStatus as BookingStatus
from resolvers.ids import to_global_id
from resolvers.loading import load_now
from schema.catalog.types import Resource, Service
from schema.enums import graphql_enum
from schema.locations.types import Location, location_by_id
from schema.money import Money, percent_from_basis_points
from schema.relay import Node

if TYPE_CHECKING:
    from schema.customers.types import Customer


graphql_enum(
    BookingStatus,
    "Where a booking is in its life.",
    {
        BookingStatus.PENDING: "Requested, not yet confirmed by the location.",
        BookingStatus.CONFIRMED: "Confirmed; the slot is held.",
        BookingStatus.COMPLETED: "The service was delivered.",
        BookingStatus.CANCELLED: "Called off; earns no revenue.",
        BookingStatus.NO_SHOW: "The customer did not come.",
    },
)

graphql_enum(
    BookingSort,
    "Orders for booking lists.",
    {
        BookingSort.START_AT_ASC: "Earliest start first.",
        BookingSort.START_AT_DESC: "Latest start first.",
        BookingSort.CREATED_AT_DESC: "Most recently booked first.",
    },
)


@strawberry.enum(description="Why a location earns part of a booking.")
class RevenueRole(Enum):
    ORIGINATING = strawberry.enum_value("originating", description="The booking was made here for another location.")
    SERVICE = strawberry.enum_value(
        "service", description="The service is delivered here for a booking made elsewhere."
    )
    SOLE = strawberry.enum_value("sole", description="Booked and delivered here.")


@strawberry.type(description="One location's share of one booking.")
class RevenueShare:
    role: RevenueRole = strawberry.field(description="Why this location earns this share.")
    share_percent: Decimal = strawberry.field(description="Its share of the booking total, in percent.")
    amount: Money = strawberry.field(description="Its share of the total, tax included (gross).")
    commission: Money = strawberry.field(description="Network commission charged on the share.")
    tax: Money = strawberry.field(description="Tax contained in the share.")
    net: Money = strawberry.field(description="Gross minus commission minus tax.")
    payment_status: str = strawberry.field(
        description="pending, paid, refunded, or written_off (cancelled after payment and not refunded)."
    )
    paid_at: datetime | None = strawberry.field(description="When its location reported the payment.")
    location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> RevenueShare:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        net = row["amount_minor"] - row["commission_minor"] - row["tax_minor"]
        return cls(
            role=RevenueRole(row["role"]),
            share_percent=percent_from_basis_points(row["share_bp"]),
            amount=Money.of(row["amount_minor"], row["currency"]),
            commission=Money.of(row["commission_minor"], row["currency"]),
            tax=Money.of(row["tax_minor"], row["currency"]),
            net=Money.of(net, row["currency"]),
            payment_status=row["payment_status"],
            paid_at=row["paid_at"],
            location_id=row["location_id"],
        )

    @strawberry.field(graphql_type=Location, description="The location earning the share.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)


def _revenue_split(rows: list[Any]) -> list[RevenueShare]:
    return [RevenueShare.from_row(row) for row in rows]


@strawberry.federation.type(
    keys=["id"], description="A booking of a service, made at one location and served at the same or another."
)
class Booking(Node):
    network_id: str = strawberry.field(description="Network-wide booking id.")
    local_id: str = strawberry.field(description="The id the service location uses for it.")
    status: BookingStatus = strawberry.field(description="Where the booking is in its life.")
    start_at: datetime = strawberry.field(description="Start, timezone-aware.")
    end_at: datetime = strawberry.field(description="End, timezone-aware.")
    price: Money = strawberry.field(description="Total price, tax included, in the service location's currency.")
    notes: str = strawberry.field(description="Free-text notes.")
    is_cross_location: bool = strawberry.field(description="Booked at one location for a service at another.")
    version: int = strawberry.field(description="Increases with every change; used to detect concurrent edits.")
    created_at: datetime = strawberry.field(description="When it was booked.")
    updated_at: datetime = strawberry.field(description="Last change.")
    customer_id: strawberry.Private[str]
    service_id: strawberry.Private[str]
    resource_id: strawberry.Private[str | None]
    service_location_id: strawberry.Private[str]
    originating_location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> Booking:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        return cls(
            id=strawberry.ID(to_global_id("Booking", row["id"])),
            network_id=row["id"],
            local_id=row["local_booking_id"],
            status=BookingStatus(row["status"]),
            start_at=row["start_at"],
            end_at=row["end_at"],
            price=Money.of(row["price_minor"], row["currency"]),
            notes=row["notes"],
            is_cross_location=row["service_location_id"] != row["originating_location_id"],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            customer_id=row["customer_id"],
            service_id=row["service_id"],
            resource_id=row["resource_id"],
            service_location_id=row["service_location_id"],
            originating_location_id=row["originating_location_id"],
        )

    @strawberry.field(description="Length in minutes.")
    def duration_minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)

    @strawberry.field(
        graphql_type=Annotated["Customer", strawberry.lazy("schema.customers.types")], description="Who booked."
    )
    def customer(self, info: Info) -> Any:
        from schema.customers.types import Customer

        return load_now(info.context.loaders.customer_by_id, self.customer_id, Customer.from_row)

    @strawberry.field(graphql_type=Service, description="What was booked.")
    def service(self, info: Info) -> Service | Awaitable[Service]:
        return load_now(info.context.loaders.references().service_by_id, self.service_id, Service.from_row)

    @strawberry.field(graphql_type=Resource | None, description="The staff member, room or equipment booked, if any.")
    def resource(self, info: Info) -> Resource | Awaitable[Resource | None] | None:
        if self.resource_id is None:
            return None
        return load_now(info.context.loaders.references().resource_by_id, self.resource_id, Resource.from_row)

    @strawberry.field(graphql_type=Location, description="Where the service is delivered (owns the booking).")
    def service_location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.service_location_id)

    @strawberry.field(graphql_type=Location, description="Where the booking was made.")
    def originating_location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.originating_location_id)

    @strawberry.field(
        graphql_type=list[RevenueShare],
        description=(
            "How the price is split between locations (empty for a cancelled booking nobody paid for; a paid one "
            "cancelled keeps its shares, refunded or written off)."
        ),
    )
    def revenue_split(self, info: Info) -> list[RevenueShare] | Awaitable[list[RevenueShare]]:
        return load_now(info.context.loaders.revenue_entries_by_booking_id, self.network_id, _revenue_split)


# GraphQL field names on Booking that map to relations the root resolver can prefetch.
BOOKING_RELATION_FIELDS = {
    "customer": BookingRelation.CUSTOMER,
    "service": BookingRelation.SERVICE,
    "resource": BookingRelation.RESOURCE,
    "serviceLocation": BookingRelation.SERVICE_LOCATION,
    "originatingLocation": BookingRelation.ORIGINATING_LOCATION,
    "revenueSplit": BookingRelation.REVENUE_SPLIT,
}


def relations_to_prefetch(selected: set[str]) -> set[BookingRelation]:
    return {relation for name, relation in BOOKING_RELATION_FIELDS.items() if name in selected}
