"""The customers domain's DataLoaders: customers apply `scope.customers()`, their identities at each
location `scope.customer_mappings()`, their consent records the customers' scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from resolvers.loading import RowByKeyLoader, RowsByKeyLoader
from sources.cache.models import ConsentRecord, Customer, CustomerMapping, DataSubjectRequest

customers = Customer.__table__
customer_mappings = CustomerMapping.__table__
consent_records = ConsentRecord.__table__
requests = DataSubjectRequest.__table__


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


class ConsentRecordsByCustomerIdLoader(RowsByKeyLoader):
    """Every consent record of a customer, oldest first (the history; the newest per purpose is current)."""

    key_name = "customer_id"

    def query(self, keys: list[str]) -> Select[Any]:
        visible = select(customers.c.id).where(customers.c.id.in_(keys), self.scope.customers())
        return (
            select(consent_records)
            .where(consent_records.c.customer_id.in_(visible))
            .order_by(consent_records.c.customer_id, consent_records.c.id)
        )


class DataSubjectRequestsByCustomerIdLoader(RowsByKeyLoader):
    """A customer's export and erasure requests, oldest first."""

    key_name = "customer_id"

    def query(self, keys: list[str]) -> Select[Any]:
        visible = select(customers.c.id).where(customers.c.id.in_(keys), self.scope.customers())
        return (
            select(requests)
            .where(requests.c.customer_id.in_(visible))
            .order_by(requests.c.customer_id, requests.c.requested_at, requests.c.id)
        )
