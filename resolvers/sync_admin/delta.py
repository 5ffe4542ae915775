"""The network's changes a location has not seen yet, read from the change log after a cursor.

A change is shown when the caller's row scope shows its entity (a booking served at or booked from the
location, a customer known there, a resource it owns or borrows, stock held there) and it did not come from
the caller itself (a change whose location is the caller's was made there, or was written to it). Stale
webhook payloads (operation "stale") are kept for the record only and never handed out.

The cursor is the last change's id, opaque to callers: ids only grow, so nothing is skipped between two
calls that a committed transaction wrote before the first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from resolvers.context import Context
from resolvers.errors import InvalidCursorError, InvalidInputError
from sources.cache.models import Booking, ChangeLogEntry, Customer, Resource, StockLevel
from sources.connectors.records import RecordType
from sync.webhooks.receipts import STALE

change_log = ChangeLogEntry.__table__
MAX_CHANGES = 500
CURSOR_PREFIX = "chg:"
SHOWN_TYPES = (RecordType.CUSTOMER, RecordType.BOOKING, RecordType.RESOURCE, RecordType.STOCK_LEVEL)


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    entity_type: str
    entity_id: str
    location_id: str | None
    operation: str
    data: dict[str, Any] | None
    version: int
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Delta:
    changes: list[Change]
    next_cursor: str
    has_more: bool


def encode_change_cursor(change_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{change_id}".encode()).decode().rstrip("=")


def decode_change_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise ValueError(text)
        value = int(text.removeprefix(CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError(f"{cursor[:64]!r} is not a cursor this API issued", field="cursor") from None
    if value < 0:
        raise InvalidCursorError(f"{cursor[:64]!r} is not a cursor this API issued", field="cursor")
    return value


async def changes_since(context: Context, cursor: str | None, limit: int, *, exclude_location: str | None) -> Delta:
    """At most `limit` changes after `cursor`, oldest first, of entities the caller's scope shows."""
    if not 1 <= limit <= MAX_CHANGES:
        raise InvalidInputError(f"limit must be between 1 and {MAX_CHANGES}", field="limit")
    after = decode_change_cursor(cursor)
    scope = context.scope
    entries = change_log.c
    visible = or_(
        and_(
            entries.entity_type == RecordType.BOOKING.value,
            entries.entity_id.in_(select(Booking.__table__.c.id).where(scope.bookings())),
        ),
        and_(
            entries.entity_type == RecordType.CUSTOMER.value,
            entries.entity_id.in_(select(Customer.__table__.c.id).where(scope.customers())),
        ),
        and_(
            entries.entity_type == RecordType.RESOURCE.value,
            entries.entity_id.in_(select(Resource.__table__.c.id).where(scope.resources())),
        ),
        and_(
            entries.entity_type == RecordType.STOCK_LEVEL.value,
            entries.location_id.in_(select(StockLevel.__table__.c.location_id).where(scope.stock())),
        ),
    )
    statement = select(change_log).where(
        entries.id > after,
        entries.operation != STALE,
        entries.entity_type.in_([kind.value for kind in SHOWN_TYPES]),
        visible,
    )
    if exclude_location is not None:
        statement = statement.where(or_(entries.location_id.is_(None), entries.location_id != exclude_location))
    statement = statement.order_by(entries.id).limit(limit + 1)
    async with context.engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    page = rows[:limit]
    changes = [
        Change(
            id=row.id,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            location_id=row.location_id,
            operation=row.operation,
            data=row.after,
            version=row.version,
            changed_at=row.changed_at,
        )
        for row in page
    ]
    last = changes[-1].id if changes else after
    return Delta(changes=changes, next_cursor=encode_change_cursor(last), has_more=len(rows) > limit)
