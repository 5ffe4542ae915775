"""POST sync: a node's delta batch in, the network's delta since its cursor out, and the conflicts waiting for it.

A batch is the node's sync queue (the spec's bkx_network_sync_queue): items of {entity_type, entity_id,
operation, payload}, where the payload is the node's record as it holds it now. The batch is applied in one
transaction through the same pipeline as a pull of the node (conflict detection and the network's rules
included), then the answer carries what the node has not seen: the change log after its cursor (the spec's
bkx_network_sync_log row for the exchange beside it), and the conflicts it is a side of that wait for a decision.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, JsonValue, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.pagination import PageArgs
from resolvers.sync_admin.delta import MAX_CHANGES, changes_since
from resolvers.sync_admin.queries import ConflictFilter, list_conflicts
from shims.bookingx.conflicts import PENDING_SHOWN, PendingConflict
from shims.bookingx.records import BookingRecord, CustomerRecord, ResourceRecord, StockRecord
from shims.bookingx.wire import (
    INVALID,
    LocalId,
    NodeId,
    Strict,
    node_context,
    node_endpoint,
    node_id_of,
    require_same_node,
)
from shims.common.callers import services_of
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from sources.cache.types import utc_now
from sync.apply.inbound import apply_inbound

MAX_BATCH = 500
Operation = Literal["create", "update"]


class CustomerChange(Strict):
    entity_type: Literal["customer"]
    entity_id: LocalId
    operation: Operation = "update"
    payload: CustomerRecord


class BookingChange(Strict):
    entity_type: Literal["booking"]
    entity_id: LocalId
    operation: Operation = "update"
    payload: BookingRecord


class ResourceChange(Strict):
    entity_type: Literal["resource"]
    entity_id: LocalId
    operation: Operation = "update"
    payload: ResourceRecord


class StockChange(Strict):
    entity_type: Literal["inventory"]
    entity_id: LocalId
    operation: Operation = "update"
    payload: StockRecord


QueuedChange = Annotated[
    CustomerChange | BookingChange | ResourceChange | StockChange, Field(discriminator="entity_type")
]


class SyncRequest(Strict):
    node_id: NodeId | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=128)
    limit: int = Field(default=100, ge=1, le=MAX_CHANGES)
    changes: list[QueuedChange] = Field(default_factory=list, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _ids_match(self) -> SyncRequest:
        for index, change in enumerate(self.changes):
            record = change.payload
            own = record.remote().sku if isinstance(record, StockRecord) else record.remote().local_id
            if own != change.entity_id:
                raise ValueError(f"changes.{index}: entity_id {change.entity_id!r} is not the payload's {own!r}")
        return self


class Applied(BaseModel):
    created: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    conflicts: int = Field(ge=0)


class OutgoingChange(BaseModel):
    id: int = Field(ge=1)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=64)
    source_node_id: str | None = Field(max_length=64)
    operation: str = Field(max_length=20)
    payload: dict[str, JsonValue] | None
    version: int
    changed_at: datetime


class SyncAnswer(BaseModel):
    node_id: str = Field(max_length=64)
    status: Literal["completed"] = "completed"
    entity_count: int = Field(ge=0)
    applied: Applied
    booking_ids: dict[str, str]
    customer_ids: dict[str, str]
    changes: list[OutgoingChange] = Field(max_length=MAX_CHANGES)
    next_cursor: str = Field(max_length=128)
    has_more: bool
    pending_conflicts: list[PendingConflict] = Field(max_length=PENDING_SHOWN)
    started_at: datetime
    completed_at: datetime
    duration_ms: int = Field(ge=0)


async def answer_sync(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    batch = await parse_body(request, SyncRequest, code=INVALID)
    require_same_node(principal, batch.node_id)
    node_id = node_id_of(principal)
    started_at, clock = utc_now(), time.perf_counter()
    by_type: dict[str, list[Any]] = {"customer": [], "booking": [], "resource": [], "inventory": []}
    for change in batch.changes:
        by_type[change.entity_type].append(change.payload.remote())
    applied = Applied(created=0, updated=0, unchanged=0, conflicts=0)
    booking_ids: dict[str, str] = {}
    customer_ids: dict[str, str] = {}
    if batch.changes:
        result = await apply_inbound(
            services_of(request).sync,
            node_id,
            customers=by_type["customer"],
            bookings=by_type["booking"],
            resources=by_type["resource"],
            stock=by_type["inventory"],
        )
        applied = Applied(
            created=result.created, updated=result.updated, unchanged=result.unchanged, conflicts=result.conflicts
        )
        booking_ids, customer_ids = result.booking_ids, result.customer_ids
    delta = await changes_since(context, batch.cursor, batch.limit, exclude_location=node_id)
    # The row scope shows the node the conflicts it is a side of, and only those.
    pending = await list_conflicts(context, ConflictFilter(statuses=["pending"]), PageArgs(first=PENDING_SHOWN))
    answer = SyncAnswer(
        node_id=node_id,
        entity_count=len(batch.changes),
        applied=applied,
        booking_ids=booking_ids,
        customer_ids=customer_ids,
        changes=[
            OutgoingChange(
                id=change.id,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                source_node_id=change.location_id,
                operation=change.operation,
                payload=change.data,
                version=change.version,
                changed_at=change.changed_at,
            )
            for change in delta.changes
        ],
        next_cursor=delta.next_cursor,
        has_more=delta.has_more,
        pending_conflicts=[
            PendingConflict(
                conflict_id=row.id,
                conflict_type=row.conflict_type,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                source_node_id=row.source_location_id,
                target_node_id=row.target_location_id,
                source_data=row.source_data,
                target_data=row.target_data,
                created_at=row.created_at,
            )
            for row in pending.page.rows
        ],
        started_at=started_at,
        completed_at=utc_now(),
        duration_ms=int((time.perf_counter() - clock) * 1000),
    )
    return JSONResponse(answer.model_dump(mode="json"))


def sync_endpoints() -> list[Endpoint]:
    return [
        node_endpoint(
            "POST",
            "sync",
            answer_sync,
            "A node sends its queued changes and receives the network's changes since its cursor",
            request_model=SyncRequest,
            response_model=SyncAnswer,
            refusals={409: "bkx_conflict: the batch ran into a concurrent change; send it again"},
        ),
    ]
