"""The fields the compiled read path can build in SQL, per GraphQL type, with the row scope each relation keeps.

A field is a function of the row's columns and its selection, returning a JSON-valued SQL expression. The
relations follow the loaders exactly: a booking's customer keeps `scope.customers()` and its revenue split
`scope.revenue()`; the catalogue rows a visible row names (its service, resource and locations) resolve
whatever the scope, as `Loaders.references()` does. A field not listed here is not compiled: the whole
request takes the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import String, case, literal, select
from sqlalchemy.sql.elements import ColumnElement

from resolvers.compiled.building import Build, FieldSql, json_object
from resolvers.compiled.connections import ConnectionQuery, connection_json
from resolvers.compiled.json_sql import decimal_text, enum_name, global_id, money_amount
from resolvers.compiled.selection import Selection
from resolvers.pagination import PageArgs
from sources.cache.models import Booking, Customer, Location, Resource, RevenueEntry, Service

bookings = Booking.__table__

customers = Customer.__table__
locations = Location.__table__
resources = Resource.__table__
revenue_entries = RevenueEntry.__table__
services = Service.__table__


def _column(name: str) -> FieldSql:
    return lambda build, c, selection: build.json.scalar(c[name])


def _id(type_name: str) -> FieldSql:
    return lambda build, c, selection: build.json.scalar(global_id(type_name, c.id))


def _instant(name: str) -> FieldSql:
    return lambda build, c, selection: build.json.instant(c[name])


def _enum(name: str) -> FieldSql:
    return lambda build, c, selection: build.json.scalar(enum_name(c[name]))


def _flag(name: str) -> FieldSql:
    return lambda build, c, selection: build.json.boolean(c[name].is_(True))


def _percent(name: str) -> FieldSql:
    return lambda build, c, selection: build.json.scalar(decimal_text(c[name], 2))


def _money(minor: Callable[[Any], ColumnElement[Any]], currency: str) -> FieldSql:
    def field(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
        money_fields: dict[str, FieldSql] = {
            "amount": lambda b, m, s: b.json.scalar(money_amount(minor(c), c[currency])),
            "currency": lambda b, m, s: b.json.scalar(c[currency]),
            "minorUnits": lambda b, m, s: b.json.scalar(minor(c)),
        }
        return json_object(build, money_fields, c, selection)

    return field


def _location(key: str) -> FieldSql:
    """A location a row names (resolved whatever the scope: Loaders.references)."""

    def field(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
        statement = select(json_object(build, LOCATION, locations.c, selection)).where(locations.c.id == c[key])
        return build.json.required(build.json.nested(statement))

    return field


LOCATION: dict[str, FieldSql] = {
    "id": _id("Location"),
    "networkId": _column("id"),
    "name": _column("name"),
    "kind": _enum("kind"),
    "status": _enum("status"),
    "isHub": _flag("is_hub"),
    "town": _column("town"),
    "timezone": _column("timezone"),
    "currency": _column("currency"),
    "taxRatePercent": _percent("tax_rate_bp"),
    "commissionRatePercent": _percent("commission_rate_bp"),
    "baseUrl": _column("base_url"),
}

SERVICE: dict[str, FieldSql] = {
    "id": _id("Service"),
    "networkId": _column("id"),
    "localId": _column("local_service_id"),
    "name": _column("name"),
    "category": _column("category"),
    "description": _column("description"),
    "durationMinutes": _column("duration_minutes"),
    "price": _money(lambda c: c.price_minor, "currency"),
    "isActive": _flag("is_active"),
    "location": _location("location_id"),
}

RESOURCE: dict[str, FieldSql] = {
    "id": _id("Resource"),
    "networkId": _column("id"),
    "localId": _column("local_resource_id"),
    "kind": _enum("kind"),
    "name": _column("name"),
    "title": _column("title"),
    "capacity": _column("capacity"),
    "isActive": _flag("is_active"),
    "location": _location("location_id"),
}

CUSTOMER: dict[str, FieldSql] = {
    "id": _id("Customer"),
    "networkId": _column("id"),
    "firstName": _column("first_name"),
    "lastName": _column("last_name"),
    "fullName": lambda build, c, s: build.json.scalar(c.first_name.concat(literal(" ", String)).concat(c.last_name)),
    "email": _column("email"),
    "phone": _column("phone"),
    "createdAt": _instant("created_at"),
    "updatedAt": _instant("updated_at"),
    "primaryLocation": _location("primary_location_id"),
}

REVENUE_SHARE: dict[str, FieldSql] = {
    "role": _enum("role"),
    "sharePercent": _percent("share_bp"),
    "amount": _money(lambda c: c.amount_minor, "currency"),
    "commission": _money(lambda c: c.commission_minor, "currency"),
    "tax": _money(lambda c: c.tax_minor, "currency"),
    "net": _money(lambda c: c.amount_minor - c.commission_minor - c.tax_minor, "currency"),
    "paymentStatus": _column("payment_status"),
    "paidAt": _instant("paid_at"),
    "location": _location("location_id"),
}


def _customer(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
    statement = select(json_object(build, CUSTOMER, customers.c, selection)).where(
        customers.c.id == c.customer_id, build.scope.customers()
    )
    return build.json.required(build.json.nested(statement))


def _service(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
    statement = select(json_object(build, SERVICE, services.c, selection)).where(services.c.id == c.service_id)
    return build.json.required(build.json.nested(statement))


def _resource(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
    statement = select(json_object(build, RESOURCE, resources.c, selection)).where(resources.c.id == c.resource_id)
    return case((c.resource_id.is_(None), build.json.null()), else_=build.json.required(build.json.nested(statement)))


def _revenue_split(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
    element = json_object(build, REVENUE_SHARE, revenue_entries.c, selection).label("element")
    # Read inside a FROM subquery: without correlate_except SQLAlchemy would add the booking's page to its FROM.
    statement = (
        select(element, revenue_entries.c.id.label("entry_id"))
        .where(revenue_entries.c.booking_id == c.id, build.scope.revenue())
        .correlate_except(revenue_entries)
    )
    return build.json.array(statement, "element", [("entry_id", False)])


BOOKING: dict[str, FieldSql] = {
    "id": _id("Booking"),
    "networkId": _column("id"),
    "localId": _column("local_booking_id"),
    "status": _enum("status"),
    "startAt": _instant("start_at"),
    "endAt": _instant("end_at"),
    "price": _money(lambda c: c.price_minor, "currency"),
    "notes": _column("notes"),
    "isCrossLocation": lambda build, c, s: build.json.boolean(c.service_location_id != c.originating_location_id),
    "version": _column("version"),
    "createdAt": _instant("created_at"),
    "updatedAt": _instant("updated_at"),
    "customer": _customer,
    "service": _service,
    "resource": _resource,
    "serviceLocation": _location("service_location_id"),
    "originatingLocation": _location("originating_location_id"),
    "revenueSplit": _revenue_split,
}


def _customer_bookings(build: Build, c: Any, selection: Selection) -> ColumnElement[Any]:
    """Customer.bookings: their history in the scope, one page per customer (the site's page of this request)."""
    assert selection.site is not None
    site = build.sites[selection.site]
    # Read inside FROM subqueries of the page: correlated to the customer row, not joined to its page.
    statement = (
        select(bookings).where(bookings.c.customer_id == c.id, build.scope.bookings()).correlate_except(bookings)
    )
    query = ConnectionQuery(statement, site.order, BOOKING, PageArgs(), 0, 0)
    return connection_json(build, query, selection, site.window, site.prefix)


CUSTOMER["bookings"] = _customer_bookings

# What the planner may compile, per GraphQL type: the fields above, and for Money its three.
COMPILABLE: Mapping[str, frozenset[str]] = {
    "Booking": frozenset(BOOKING),
    "Customer": frozenset(CUSTOMER),
    "Service": frozenset(SERVICE),
    "Resource": frozenset(RESOURCE),
    "Location": frozenset(LOCATION),
    "RevenueShare": frozenset(REVENUE_SHARE),
    "Money": frozenset({"amount", "currency", "minorUnits"}),
}
