"""The principal's row scope: the one WHERE clause per domain that every read of that domain applies.

Every list and its `totalCount`, every aggregate (revenue, network health) and every DataLoader batch
(so `node(id)` and every relation) of a domain adds `scope.<domain>()` to its statement; nothing else
decides which rows a caller sees. The `maxAge` refresh, and the `extensions.freshness` report, cover only
the locations the scope shows (`visible_locations`). A network admin's scope is `RowScope.everything()`; every
other principal's is built from its role and locations in one place (resolvers/context.py).

Four restrictions, which combine (all must hold):

- `location_ids`: a location manager, franchisee or location credential sees the rows of these
  locations only (an empty set: none at all). None: every location.
- `customer_id`: a customer sees their own customer record, identities and bookings, and the public
  catalogue (locations, services, resources, stock items); no operational rows (revenue, stock
  levels, sync jobs and logs, conflicts, the outbox). None: any customer's.

- `resource_id`: shared staff see the bookings where they are the resource (at their locations), the
  customers of those bookings, and the public catalogue; no operational rows.
- `public_only`: an anonymous caller (when settings open availability to the public) sees the public
  catalogue only: no customer, booking or operational row.

An unrestricted clause is the `true()` singleton, which SQLAlchemy drops when the statement has any
other condition, so `everything()` leaves the SQL of a filtered statement as it was (and adds a
constant `WHERE 1 = 1` to an unfiltered one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from sources.cache.models import (
    AuditEntry,
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

TRUE = true()  # a singleton: `clause is TRUE` tells an unrestricted clause
SelectT = TypeVar("SelectT", bound=Select[Any])


def scoped(statement: SelectT, clause: ColumnElement[bool]) -> SelectT:
    """A list's base statement limited to the scope's rows; left as it is when the scope restricts nothing,
    because a lone `WHERE 1 = 1` costs SQLite its fast path for `count(*)` (every totalCount)."""
    return statement if clause is TRUE else statement.where(clause)


audit_entries = AuditEntry.__table__
bookings = Booking.__table__
conflicts = Conflict.__table__
customers = Customer.__table__
customer_mappings = CustomerMapping.__table__
locations = Location.__table__
outbox = OutboxMessage.__table__
resources = Resource.__table__
resource_shares = ResourceShare.__table__
revenue_entries = RevenueEntry.__table__
services = Service.__table__
stock_items = StockItem.__table__
stock_levels = StockLevel.__table__
sync_jobs = SyncJob.__table__
sync_logs = SyncLog.__table__


@dataclass(frozen=True, slots=True)
class RowScope:
    """Which rows a principal may see; hashable, so it can key caches next to a document and variables."""

    location_ids: frozenset[str] | None = None
    customer_id: str | None = None
    resource_id: str | None = None
    public_only: bool = False

    @classmethod
    def everything(cls) -> RowScope:
        """The embedded network admin's scope: every row."""
        return cls()

    @classmethod
    def of_locations(cls, location_ids: set[str] | frozenset[str] | list[str]) -> RowScope:
        return cls(location_ids=frozenset(location_ids))

    @classmethod
    def of_customer(cls, customer_id: str) -> RowScope:
        return cls(customer_id=customer_id)

    @classmethod
    def of_staff(cls, location_ids: frozenset[str], resource_id: str) -> RowScope:
        return cls(location_ids=location_ids, resource_id=resource_id)

    @classmethod
    def public(cls) -> RowScope:
        return cls(public_only=True)

    @property
    def is_everything(self) -> bool:
        return self == EVERYTHING

    def visible_locations(self, location_ids: Iterable[str]) -> list[str]:
        """Those of the ids the scope shows, in their order: what a read may refresh live and report on."""
        if self.location_ids is None:
            return list(location_ids)
        return [location_id for location_id in location_ids if location_id in self.location_ids]

    # -- the building blocks ------------------------------------------------------------------------

    def _at(self, *location_columns: ColumnElement[str | None]) -> ColumnElement[bool]:
        """The row belongs to one of the scope's locations through any of these columns."""
        if self.location_ids is None:
            return TRUE
        ids = sorted(self.location_ids)
        return or_(*(column.in_(ids) for column in location_columns))

    def _own(self, customer_column: ColumnElement[str]) -> ColumnElement[bool]:
        """The row is the scope's customer's (nobody's for the public)."""
        if self.public_only:
            return false()
        return TRUE if self.customer_id is None else customer_column == self.customer_id

    def _served_by(self, resource_column: ColumnElement[str | None]) -> ColumnElement[bool]:
        """The row is the scope's staff member's work."""
        return TRUE if self.resource_id is None else resource_column == self.resource_id

    @staticmethod
    def _both(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
        """All of the clauses; the `true()` singleton itself when none restricts anything."""
        restricting = [clause for clause in clauses if clause is not TRUE]
        if not restricting:
            return TRUE
        return restricting[0] if len(restricting) == 1 else and_(*restricting)

    def _operational(self) -> ColumnElement[bool]:
        """Rows that are the business's: none for a customer, a staff member or the public."""
        personal = self.customer_id is not None or self.resource_id is not None or self.public_only
        return false() if personal else TRUE

    # -- one clause per domain ----------------------------------------------------------------------

    def locations(self) -> ColumnElement[bool]:
        return self._at(locations.c.id)

    def bookings(self) -> ColumnElement[bool]:
        """Served at, or booked from, one of the locations (as booking events are); the customer's own."""
        return self._both(
            self._at(bookings.c.service_location_id, bookings.c.originating_location_id),
            self._own(bookings.c.customer_id),
            self._served_by(bookings.c.resource_id),
        )

    def customers(self) -> ColumnElement[bool]:
        """Known at one of the locations (mapped there, first seen there, or booked there); the customer
        themself."""
        known_here: ColumnElement[bool] = TRUE
        if self.resource_id is not None:
            # Staff know the customers of their own bookings (names only: contact data is a field permission).
            served = select(bookings.c.customer_id).where(self.bookings())
            return self._both(customers.c.id.in_(served), self._own(customers.c.id))
        if self.location_ids is not None:
            mapped = select(customer_mappings.c.customer_id).where(self._at(customer_mappings.c.location_id))
            # A booking the scope shows names its customer: booked here for service elsewhere, or the reverse.
            booked = select(bookings.c.customer_id).where(
                self._at(bookings.c.service_location_id, bookings.c.originating_location_id)
            )
            known_here = or_(
                self._at(customers.c.primary_location_id), customers.c.id.in_(mapped), customers.c.id.in_(booked)
            )
        return self._both(known_here, self._own(customers.c.id))

    def customer_mappings(self) -> ColumnElement[bool]:
        """A customer's identity at one of the locations; the customer's own identities."""
        staff = false() if self.resource_id is not None else TRUE
        return self._both(self._at(customer_mappings.c.location_id), self._own(customer_mappings.c.customer_id), staff)

    def services(self) -> ColumnElement[bool]:
        return self._at(services.c.location_id)

    def resources(self) -> ColumnElement[bool]:
        """Owned by one of the locations, or lent to one of them."""
        if self.location_ids is None:
            return TRUE
        lent_in = select(resource_shares.c.resource_id).where(
            resource_shares.c.is_active.is_(True), self._at(resource_shares.c.location_id)
        )
        return or_(self._at(resources.c.location_id), resources.c.id.in_(lent_in))

    def resource_shares(self) -> ColumnElement[bool]:
        """Lendings to one of the locations, and every lending of a resource one of them owns."""
        if self.location_ids is None:
            return TRUE
        owned = select(resources.c.id).where(self._at(resources.c.location_id))
        return or_(self._at(resource_shares.c.location_id), resource_shares.c.resource_id.in_(owned))

    def stock_items(self) -> ColumnElement[bool]:
        """Items held at one of the locations."""
        if self.location_ids is None:
            return TRUE
        held = select(stock_levels.c.item_id).where(self._at(stock_levels.c.location_id))
        return stock_items.c.id.in_(held)

    def stock(self) -> ColumnElement[bool]:
        """Stock levels at one of the locations."""
        return self._both(self._at(stock_levels.c.location_id), self._operational())

    def revenue(self) -> ColumnElement[bool]:
        """Revenue entries earned by one of the locations."""
        return self._both(self._at(revenue_entries.c.location_id), self._operational())

    def sync_jobs(self) -> ColumnElement[bool]:
        return self._both(self._at(sync_jobs.c.location_id), self._operational())

    def sync_logs(self) -> ColumnElement[bool]:
        return self._both(self._at(sync_logs.c.location_id), self._operational())

    def conflicts(self) -> ColumnElement[bool]:
        """Conflicts with one of the locations on either side."""
        return self._both(self._at(conflicts.c.source_location_id, conflicts.c.target_location_id), self._operational())

    def audit(self) -> ColumnElement[bool]:
        """Entries of changes at one of the locations (network-wide ones have none: the network's people only)."""
        return self._both(self._at(audit_entries.c.location_id), self._operational())

    def outbox(self) -> ColumnElement[bool]:
        """Writes waiting for, or given up on by, one of the locations."""
        return self._both(self._at(outbox.c.location_id), self._operational())


EVERYTHING = RowScope()
