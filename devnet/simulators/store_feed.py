"""A location's change feed: its records of one kind in (updated_at, key) order, after a cursor.

Ordering by the pair, and starting strictly after the last pair seen, is what lets a
reader page through records that share one timestamp without skipping or repeating
any. A record deleted at the location simply stops being in the feed: a delta cannot
show it, a full pull (from no cursor) finds it missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from devnet.simulators.store_records import StoredStock, Versioned

ENTITY_TYPES = ("customers", "services", "bookings", "resources", "inventory")
FeedCursor = tuple[datetime, str]


def feed_key(record: Versioned) -> str:
    """What orders records sharing a timestamp: the local id, the sku for stock."""
    return record.sku if isinstance(record, StoredStock) else record.local_id


def position(record: Versioned) -> FeedCursor:
    return (record.updated_at, feed_key(record))


def after_cursor(records: Iterable[Versioned], after: FeedCursor | None, limit: int) -> list[Versioned]:
    """Copies of at most `limit` records strictly after `after`, oldest first."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ordered = sorted(records, key=position)
    if after is not None:
        ordered = [record for record in ordered if position(record) > after]
    return [replace(record) for record in ordered[:limit]]
