"""Reading customers: search and the list; their identities and booking history load through loaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from resolvers import bounds
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import RowScope, scoped
from resolvers.validation import require_known_locations
from sources.cache.models import Customer, CustomerMapping

customers = Customer.__table__
customer_mappings = CustomerMapping.__table__

CUSTOMER_ORDER = SortOrder("name", (customers.c.last_name, customers.c.first_name, customers.c.id))


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    search: str | None = None  # part of the name, the email or the phone number
    location_ids: list[str] | None = None  # known at any of these


def _escaped_like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filtered_customers(scope: RowScope, where: CustomerFilter) -> Select[Any]:
    """The customers the scope shows that match the filter: the one statement the list and its count run."""
    statement = scoped(select(customers), scope.customers())
    if where.search and where.search.strip():
        pattern = _escaped_like(where.search.strip())
        full_name = func.lower(customers.c.first_name + " " + customers.c.last_name)
        digits = "".join(ch for ch in where.search if ch.isdigit())
        conditions = [full_name.like(pattern, escape="\\"), func.lower(customers.c.email).like(pattern, escape="\\")]
        if len(digits) >= 3:
            conditions.append(customers.c.phone.like(f"%{digits}%"))
        statement = statement.where(or_(*conditions))
    if where.location_ids:
        known_there = select(customer_mappings.c.customer_id).where(
            customer_mappings.c.location_id.in_(where.location_ids)
        )
        statement = statement.where(customers.c.id.in_(known_there))
    return statement


async def list_customers(context: Context, where: CustomerFilter, args: PageArgs) -> ListResult:
    # Longer than any searched column cannot match, and SQLite refuses LIKE patterns past 50,000 bytes.
    bounds.optional_text("search", where.search, bounds.SEARCH_LENGTH)
    await require_known_locations(context.engine, where.location_ids)
    return await list_page(context, filtered_customers(context.scope, where), CUSTOMER_ORDER, args)


async def duplicate_customer_groups(context: Context, limit: int = 100) -> list[list[str]]:
    """Customers sharing an email (case-insensitive) or a phone number: merge candidates, among those
    the scope shows."""
    in_scope = context.scope.customers()
    groups: list[list[str]] = []
    async with context.engine.connect() as connection:
        for column in (func.lower(customers.c.email), customers.c.phone):
            shared = (
                select(column)
                .where(column.is_not(None), in_scope)
                .group_by(column)
                .having(func.count() > 1)
                .limit(limit)
            )
            rows = await connection.execute(
                select(column, customers.c.id)
                .where(column.in_(shared), in_scope)
                .order_by(column, customers.c.created_at, customers.c.id)
            )
            current: dict[str, list[str]] = {}
            for value, customer_id in rows:
                current.setdefault(value, []).append(customer_id)
            groups.extend(ids for ids in current.values() if ids not in groups)
    return groups[:limit]
