"""Customers' consents: the purposes and when a record is in force (sources/cache/consents.py, re-exported for the
GraphQL face), and the JSON summary the cache stores (customers.consents) for the customers one location knows,
read-only, a page at a time (the Booksy REST shim)."""

from __future__ import annotations

from sqlalchemy import select

from resolvers import bounds
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from sources.cache.consents import Purpose, in_force
from sources.cache.models import Customer, CustomerMapping

__all__ = ["CONSENT_ORDER", "Purpose", "in_force", "list_consent_records"]

customers = Customer.__table__
mappings = CustomerMapping.__table__
CONSENT_ORDER = SortOrder("consent_record", (customers.c.id,))


async def list_consent_records(context: Context, location_id: str, args: PageArgs) -> ListResult:
    """Rows of (id, local_customer_id, first_name, last_name, consents, updated_at), by customer id."""
    bounds.key("location", location_id)
    statement = (
        select(
            customers.c.id,
            mappings.c.local_customer_id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.consents,
            customers.c.updated_at,
        )
        .join(mappings, mappings.c.customer_id == customers.c.id)
        .where(mappings.c.location_id == location_id, context.scope.customers())
    )
    return await list_page(context, statement, CONSENT_ORDER, args)
