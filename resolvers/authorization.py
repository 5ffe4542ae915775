"""Row checks of writes, made before any work: the caller may only write what its row scope shows it, at
the locations it acts for. A row outside the scope is NOT_FOUND, exactly like a missing one (no existence
leak); a location the caller does not act for is FORBIDDEN. Which mutations a role may call at all is the
permission declared on the field (permissions.py); this is the rows.

Network-wide callers see every row, so for them nothing is read here (a write costs no extra statement).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from identity.principal import Role
from resolvers.context import Context
from resolvers.errors import ForbiddenError, NotFoundError
from resolvers.permissions import require_location
from resolvers.scope import bookings, customers, outbox, resources


async def _visible(context: Context, column: ColumnElement[str], key: str, clause: ColumnElement[bool]) -> bool:
    async with context.engine.connect() as connection:
        found = await connection.scalar(select(column).where(column == key, clause).limit(1))
    return found is not None


async def require_visible_booking(context: Context, booking_id: str, field: str = "bookingId") -> None:
    if context.scope.is_everything:
        return
    if not await _visible(context, bookings.c.id, booking_id, context.scope.bookings()):
        raise NotFoundError(f"no booking has id {booking_id!r}", id=booking_id, field=field)


async def require_visible_customer(context: Context, customer_id: str, field: str = "customerId") -> None:
    if context.scope.is_everything:
        return
    if not await _visible(context, customers.c.id, customer_id, context.scope.customers()):
        raise NotFoundError(f"no customer has id {customer_id!r}", id=customer_id, field=field)


async def require_owned_resource(context: Context, resource_id: str, field: str = "resourceId") -> None:
    """The resource exists for the caller and belongs to a location it acts for (lending is the owner's call)."""
    if context.scope.is_everything:
        return
    async with context.engine.connect() as connection:
        owner = await connection.scalar(
            select(resources.c.location_id).where(resources.c.id == resource_id, context.scope.resources())
        )
    if owner is None:
        raise NotFoundError(f"no resource has id {resource_id!r}", id=resource_id, field=field)
    require_location(context.principal, owner)


async def require_visible_outbox_message(context: Context, message_id: str) -> None:
    if context.scope.is_everything:
        return
    if not await _visible(context, outbox.c.id, message_id, context.scope.outbox()):
        raise NotFoundError(f"no outbox message {message_id}", field="id")


def require_acting_location(context: Context, location_id: str) -> None:
    """A write at this location: FORBIDDEN unless the caller acts for it."""
    require_location(context.principal, location_id)


def require_booking_for(context: Context, customer_id: str | None) -> None:
    """A customer books for themselves only (an existing customer id: their own)."""
    principal = context.principal
    if principal.role is Role.CUSTOMER and customer_id != principal.customer_id:
        raise ForbiddenError("a customer books for themselves: give your own customerId", field="customerId")


def may_book_at(context: Context, service_location_id: str, originating_location_id: str | None) -> bool:
    """A booking served at one location and made at another is both locations' business: the caller acts
    for either. A customer may book anywhere (for themselves)."""
    principal = context.principal
    if principal.role is Role.CUSTOMER or principal.sees_every_location:
        return True
    return principal.acts_for(service_location_id) or (
        originating_location_id is not None and principal.acts_for(originating_location_id)
    )
