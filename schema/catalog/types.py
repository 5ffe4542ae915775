"""What locations offer: services, and the staff, rooms and equipment that deliver them."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers.categories import network_category
from resolvers.ids import to_global_id
from schema.locations.types import Location, location_by_id
from schema.money import Money
from schema.relay import Node

T = TypeVar("T")


@strawberry.enum(description="What a resource is.")
class ResourceKind(Enum):
    STAFF = strawberry.enum_value("staff", description="A person who delivers services.")
    ROOM = strawberry.enum_value("room", description="A room or space.")
    EQUIPMENT = strawberry.enum_value("equipment", description="A machine or piece of equipment.")


@strawberry.federation.type(keys=["id"], description="A service a location offers, at that location's price.")
class Service(Node):
    network_id: str = strawberry.field(description="Network-wide service id.")
    local_id: str = strawberry.field(description="The id the owning location uses for it.")
    name: str = strawberry.field(description="Display name.")
    category: str = strawberry.field(description="Category, in the owning location's own words (see networkCategory).")
    description: str = strawberry.field(description="What the customer gets.")
    duration_minutes: int = strawberry.field(description="How long one booking of it lasts.")
    price: Money = strawberry.field(description="Price at the owning location, tax included.")
    is_active: bool = strawberry.field(description="False when it can no longer be booked.")
    location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> Service:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        return cls(
            id=strawberry.ID(to_global_id("Service", row["id"])),
            network_id=row["id"],
            local_id=row["local_service_id"],
            name=row["name"],
            category=row["category"],
            description=row["description"],
            duration_minutes=row["duration_minutes"],
            price=Money.of(row["price_minor"], row["currency"]),
            is_active=row["is_active"],
            location_id=row["location_id"],
        )

    @strawberry.field(graphql_type=Location, description="The location that offers and owns it.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(
        description="The network category its location's own `category` means: what pooled availability and "
        "createBooking(category:) search by. Null when the location's category is mapped to none of the network's "
        "(an unmapped category: no category search finds the service until the location's mapping names it)."
    )
    def network_category(self, info: Info) -> str | None:
        return network_category(info.context, self.location_id, self.category)


def _stored(rules: dict[str, Any], key: str, kind: type[T]) -> T | None:
    """The rule as written, or None: rules stored before they were checked may hold anything."""
    value = rules.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


@strawberry.type(
    description="When and how much a shared resource may work for a borrowing location: the rules shareResource "
    "wrote, as written. Weekdays and hours are the owning location's local time. availability offers, and "
    "createBooking, rescheduleBooking and transferBooking at the borrowing location accept, only times within "
    "them (else SLOT_UNAVAILABLE naming the rule); the owner's own bookings are not bound by them."
)
class SharingRules:
    weekdays: list[int] = strawberry.field(
        description="ISO weekdays it may be booked on (1 = Monday … 7 = Sunday), rule `weekdays`; empty: any day."
    )
    available_from: str | None = strawberry.field(
        description="Time of day (HH:MM, the owner's) a booking may start from, rule `from`; null: from midnight."
    )
    available_until: str | None = strawberry.field(
        description="Time of day (HH:MM, the owner's) a booking must end by, rule `until`; null: until midnight."
    )
    max_hours_per_week: int | None = strawberry.field(
        description="Hours a week (ISO week, the owner's time) the borrowing location may book it for, its "
        "existing bookings counted, rule `max_hours_per_week`; null: no maximum."
    )
    lead_time_hours: int | None = strawberry.field(
        description="How many hours ahead of its start a booking must be made, rule `lead_time_hours`; null: none."
    )
    priority: int | None = strawberry.field(description="Lower goes first when several borrowers want it.")
    notes: str | None = strawberry.field(description="Notes on the loan, for people.")

    @classmethod
    def from_dict(cls, rules: dict[str, Any]) -> SharingRules:
        weekdays = rules.get("weekdays")
        return cls(
            weekdays=[day for day in weekdays if isinstance(day, int)] if isinstance(weekdays, list) else [],
            available_from=_stored(rules, "from", str),
            available_until=_stored(rules, "until", str),
            max_hours_per_week=_stored(rules, "max_hours_per_week", int),
            lead_time_hours=_stored(rules, "lead_time_hours", int),
            priority=_stored(rules, "priority", int),
            notes=_stored(rules, "notes", str),
        )


@strawberry.type(description="A location a resource is lent to, and the rules of the loan.")
class ResourceShare:
    rules: SharingRules = strawberry.field(description="The terms of the loan.")
    since: datetime = strawberry.field(description="When the sharing started.")
    location_id: strawberry.Private[str]

    @strawberry.field(graphql_type=Location, description="The borrowing location.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)


@strawberry.federation.type(
    keys=["id"], description="Staff, a room or equipment, owned by one location and possibly shared with others."
)
class Resource(Node):
    network_id: str = strawberry.field(description="Network-wide resource id.")
    local_id: str = strawberry.field(description="The id the owning location uses for it.")
    kind: ResourceKind = strawberry.field(description="Staff, room or equipment.")
    name: str = strawberry.field(description="Display name.")
    title: str = strawberry.field(description="Role or description, e.g. Senior stylist.")
    capacity: int = strawberry.field(description="How many bookings it can take at once.")
    is_active: bool = strawberry.field(description="False when retired.")
    location_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> Resource:
        row = row._mapping  # RowMapping[key] is ~10x cheaper than Row.__getattr__
        return cls(
            id=strawberry.ID(to_global_id("Resource", row["id"])),
            network_id=row["id"],
            local_id=row["local_resource_id"],
            kind=ResourceKind(row["kind"]),
            name=row["name"],
            title=row["title"],
            capacity=row["capacity"],
            is_active=row["is_active"],
            location_id=row["location_id"],
        )

    @strawberry.field(graphql_type=Location, description="The owning location.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_id)

    @strawberry.field(description="The locations it is lent to, with the rules of each loan.")
    async def shared_with(self, info: Info) -> list[ResourceShare]:
        rows = await info.context.loaders.resource_shares_by_resource_id.load(self.network_id)
        return [
            ResourceShare(rules=SharingRules.from_dict(row.rules), since=row.created_at, location_id=row.location_id)
            for row in rows
        ]

    @strawberry.field(description="True when at least one other location may book it.")
    async def is_shared(self, info: Info) -> bool:
        return bool(await info.context.loaders.resource_shares_by_resource_id.load(self.network_id))
