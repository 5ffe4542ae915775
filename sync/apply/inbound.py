"""Changes a location sends of its own accord (a source website's push), taken in as a pull takes a page.

A push is a pull the location started: its records go through the same apply pipeline with
the network's one set of rules (conflict strategies, where customers are shared), on the
app's one cache writer, and what they changed is settled the same way afterwards: events
published to subscribers, the outbox woken for what the batch queued. Only the cursor and
the job are a pull's own; a push has neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sources.cache.writer import CacheWriter
from sources.connectors.records import RemoteBooking, RemoteCustomer, RemoteResource, RemoteStockLevel
from sync.apply.batch import ApplyResult, ApplyRules
from sync.apply.pipeline import apply_location_changes
from sync.webhooks.receipts import Delivery


class PullPipeline(Protocol):
    """What pulls go through (the sync engine): the writer, the rules, and publishing what a batch changed."""

    @property
    def writer(self) -> CacheWriter: ...

    @property
    def rules(self) -> ApplyRules: ...

    async def publish_applied(self, result: ApplyResult) -> None: ...


async def apply_inbound(
    pipeline: PullPipeline,
    location_id: str,
    *,
    customers: Sequence[RemoteCustomer] = (),
    bookings: Sequence[RemoteBooking] = (),
    resources: Sequence[RemoteResource] = (),
    stock: Sequence[RemoteStockLevel] = (),
    delivery: Delivery | None = None,
) -> ApplyResult:
    """Apply one location's records in one transaction under the pipeline's rules, then publish and wake.
    With `delivery`, once per event and never over newer data (sync.webhooks.receipts)."""
    result = await apply_location_changes(
        pipeline.writer,
        location_id,
        customers=customers,
        bookings=bookings,
        resources=resources,
        stock=stock,
        rules=pipeline.rules,
        delivery=delivery,
    )
    await pipeline.publish_applied(result)
    return result
