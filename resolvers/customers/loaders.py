"""The customers domain's DataLoaders: customers apply `scope.customers()`, their identities at each
location `scope.customer_mappings()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import Customer, CustomerMapping

customers = Customer.__table__
customer_mappings = CustomerMapping.__table__


class CustomerByIdLoader(RowByKeyLoader):
    key_column = customers.c.id

    def query(self, keys: list[str]) -> Select[Any]:
        return select(customers).where(customers.c.id.in_(keys), self.scope.customers())


class CustomerMappingsByCustomerIdLoader(RowsByKeyLoader):
    key_name = "customer_id"

    def query(self, keys: list[str]) -> Select[Any]:
        return (
            select(customer_mappings)
            .where(customer_mappings.c.customer_id.in_(keys), self.scope.customer_mappings())
            .order_by(customer_mappings.c.customer_id, customer_mappings.c.id)
        )
