"""Erasing a customer at a location.

None of the four kinds' APIs (BookingX, OneBooking, platform, PMS) has an erase or anonymise call, so an erasure
is an update of the location's record with anonymised details: the record (and the bookings and loyalty points
hanging off it) stays, nothing personal is left in it. A kind that takes no customer changes (a OneBooking
website) cannot be asked to erase: that is the request's `not_supported` outcome, and the suppression list keeps
what it still sends out of the cache.
"""

from __future__ import annotations

from sources.connectors.base import Capability, Connector
from sources.connectors.records import CustomerAck, CustomerDetails

ERASED_FIRST_NAME = "Erased"
ERASED_LAST_NAME = "Customer"


def erased_details(global_id: str) -> CustomerDetails:
    return CustomerDetails(
        global_id=global_id,
        first_name=ERASED_FIRST_NAME,
        last_name=ERASED_LAST_NAME,
        email=None,
        phone=None,
        preferences={},
    )


def can_erase(connector: Connector | None) -> bool:
    return connector is not None and Capability.WRITE_CUSTOMERS in connector.capabilities


async def erase_customer(connector: Connector, local_id: str, global_id: str, idempotency_key: str) -> CustomerAck:
    """Anonymise the location's record of the customer (once per key: a retry is the same write)."""
    return await connector.upsert_customer(local_id, erased_details(global_id), idempotency_key)
