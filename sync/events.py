"""The events the gateway publishes on the bus: one function per topic builds its payload.

The payload shapes are the subscriptions' contract (`schema/subscriptions/events.py` reads them,
`subscriptions/visibility.py` names the fields that say which locations an event concerns), so
every publisher of a topic goes through its function here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sources.cache.models import Booking, Conflict, StockLevel

DomainEvent = tuple[str, dict[str, Any]]

BOOKING_CHANGED = "booking.changed"
STOCK_CHANGED = "stock.changed"
CUSTOMER_CHANGED = "customer.changed"
RESOURCE_CHANGED = "resource.changed"
CONFLICT = "conflict"
SYNC_JOB = "sync.job"
LOCATION_STATUS = "location.status"


class BookingChange(StrEnum):
    """What happened to a booking (`booking.changed`'s `change`)."""

    CREATED = "created"  # new: its location confirmed one made through the gateway, or one made there arrived
    REJECTED = "rejected"  # the owning location refused a booking made through the gateway; it is gone
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    CHANGE_REJECTED = "change_rejected"  # the location refused a reschedule or cancel; the booking is as before
    SYNCED = "synced"  # a change made at its location reached the cache (pull, webhook or push)
    DELETED = "deleted"  # a full pull found the location no longer has it
    RESOLVED = "resolved"  # a conflict about it was settled
    RESTORED = "restored"  # a rollback brought a deleted booking back
    ROLLED_BACK = "rolled_back"  # a rollback undid a sync job's change to it


def booking_event(booking: Booking, change: BookingChange) -> DomainEvent:
    """A booking the location refused to create never existed there: it is published without a status."""
    return (
        BOOKING_CHANGED,
        {
            "bookingId": booking.id,
            "change": change.value,
            "status": None if change is BookingChange.REJECTED else booking.status,
            "serviceLocationId": booking.service_location_id,
            "originatingLocationId": booking.originating_location_id,
            # Who may see the event besides the locations' people: the customer and the staff member.
            "customerId": booking.customer_id,
            "resourceId": booking.resource_id,
        },
    )


def stock_event(level: StockLevel) -> DomainEvent:
    return (
        STOCK_CHANGED,
        {
            "itemId": level.item_id,
            "locationId": level.location_id,
            "quantity": level.quantity,
            "reserved": level.reserved,
            "low": level.quantity - level.reserved <= level.reorder_point,
        },
    )


def customer_event(customer_id: str, location_id: str | None, *, merged_customer_id: str | None = None) -> DomainEvent:
    """`location_id`: where the change came from (None: the network's own change)."""
    payload: dict[str, Any] = {"customerId": customer_id, "locationId": location_id}
    if merged_customer_id is not None:
        payload["mergedCustomerId"] = merged_customer_id
    return CUSTOMER_CHANGED, payload


def resource_event(
    resource_id: str, location_id: str | None, *, shared_with: str | None = None, shared: bool | None = None
) -> DomainEvent:
    """A resource changed at its location, or its sharing with another location (`shared_with`) changed."""
    payload: dict[str, Any] = {"resourceId": resource_id, "locationId": location_id}
    if shared_with is not None:
        payload["withLocationId"] = shared_with
        payload["shared"] = bool(shared)
    return RESOURCE_CHANGED, payload


def conflict_event(row: Conflict, phase: str) -> DomainEvent:
    return (
        CONFLICT,
        {
            "conflictId": row.id,
            "phase": phase,
            "conflictType": row.conflict_type,
            "entityType": row.entity_type,
            "entityId": row.entity_id,
            "sourceLocationId": row.source_location_id,
            "targetLocationId": row.target_location_id,
            "strategy": row.resolution_strategy,
            "status": row.status,
        },
    )


def sync_job_event(
    job_id: str,
    location_id: str,
    phase: str,
    entity_type: str | None,
    *,
    pulled: int,
    applied: int,
    conflicts: int,
    errors: int,
    error: str | None,
) -> DomainEvent:
    return (
        SYNC_JOB,
        {
            "jobId": job_id,
            "locationId": location_id,
            "phase": phase,
            "entityType": entity_type,
            "pulled": pulled,
            "applied": applied,
            "conflicts": conflicts,
            "errors": errors,
            "error": error,
        },
    )


def location_status_event(location_id: str, previous: str, status: str) -> DomainEvent:
    return LOCATION_STATUS, {"locationId": location_id, "previous": previous, "status": status}
