"""What every mutation payload shares: each location's delivery outcome and typed, expected errors."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.errors import GatewayError
from resolvers.ids import to_global_id
from schema.inventory.types import StockItem, StockLevel
from schema.locations.types import Location, location_by_id


@strawberry.enum(description="What became of a write at one location.")
class DeliveryStatus(Enum):
    DELIVERED = strawberry.enum_value("DELIVERED", description="The location accepted the write.")
    QUEUED = strawberry.enum_value(
        "QUEUED", description="The location could not be reached; the write waits in the outbox and is retried."
    )
    FAILED = strawberry.enum_value(
        "FAILED", description="The location refused the write, or the gateway gave up on it; see code and reason."
    )


@strawberry.enum(description="Stable codes of expected failures; clients branch on these, never on messages.")
class MutationErrorCode(Enum):
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="An id names nothing the gateway knows.")
    INVALID_INPUT = strawberry.enum_value("INVALID_INPUT", description="A value is malformed or out of range.")
    INVALID_ID = strawberry.enum_value(
        "INVALID_ID", description="An id is not a gateway id, or names another type of object."
    )
    INVALID_CURSOR = strawberry.enum_value("INVALID_CURSOR", description="A page cursor is malformed or stale.")
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="The caller may not do this.")
    UNAUTHENTICATED = strawberry.enum_value(
        "UNAUTHENTICATED", description="This needs a credential (a bearer token) and none was presented."
    )
    SLOT_UNAVAILABLE = strawberry.enum_value(
        "SLOT_UNAVAILABLE", description="The time is taken, outside opening hours, or nothing can deliver it."
    )
    LOCATION_UNAVAILABLE = strawberry.enum_value(
        "LOCATION_UNAVAILABLE", description="The owning location could not be reached."
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object is in a state that does not allow this, or changed concurrently."
    )
    INSUFFICIENT_STOCK = strawberry.enum_value(
        "INSUFFICIENT_STOCK", description="Not enough free stock at the location."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED", description="The idempotency key was already used with a different input."
    )
    APPROVAL_REQUIRED = strawberry.enum_value(
        "APPROVAL_REQUIRED", description="Network policy requires approval; resend with `approved: true`."
    )
    SYNC_IN_PROGRESS = strawberry.enum_value(
        "SYNC_IN_PROGRESS", description="A sync job for the location is already running; wait for it to end."
    )
    QUERY_TOO_COMPLEX = strawberry.enum_value(
        "QUERY_TOO_COMPLEX", description="The operation's estimated cost is over the limit; ask for smaller pages."
    )
    RATE_LIMITED = strawberry.enum_value(
        "RATE_LIMITED", description="Too many requests from this caller; retry after `retryAfter` seconds."
    )
    PAYLOAD_TOO_LARGE = strawberry.enum_value("PAYLOAD_TOO_LARGE", description="The request body is too large.")
    BAD_REQUEST = strawberry.enum_value(
        "BAD_REQUEST", description="The HTTP request is not a GraphQL request (body, parameters, content type)."
    )
    METHOD_NOT_ALLOWED = strawberry.enum_value(
        "METHOD_NOT_ALLOWED", description="A mutation was sent by GET; send it by POST."
    )
    NOT_ACCEPTABLE = strawberry.enum_value(
        "NOT_ACCEPTABLE",
        description="The Accept header lists no media type the answer can take (application/json or "
        "application/graphql-response+json).",
    )
    SUBSCRIPTION_TRANSPORT_REQUIRED = strawberry.enum_value(
        "SUBSCRIPTION_TRANSPORT_REQUIRED",
        description="A subscription was sent by plain HTTP; use a WebSocket, GraphQL over SSE or multipart HTTP.",
    )
    SERVICE_UNAVAILABLE = strawberry.enum_value(
        "SERVICE_UNAVAILABLE", description="The gateway's database cannot be reached now; retry later."
    )
    INTERNAL_SERVER_ERROR = strawberry.enum_value(
        "INTERNAL_SERVER_ERROR", description="Something unexpected went wrong; quote the request id."
    )


@strawberry.enum(description="A sharing rule of a resource lent to the booking's location (see SharingRules).")
class SharingRuleName(Enum):
    WEEKDAYS = strawberry.enum_value("weekdays", description="The weekdays it is lent on.")
    HOURS = strawberry.enum_value("hours", description="The window of the day it is lent in (from, until).")
    MAX_HOURS_PER_WEEK = strawberry.enum_value(
        "max_hours_per_week", description="The hours a week the borrowing location may book it for."
    )
    LEAD_TIME = strawberry.enum_value("lead_time", description="How long ahead it must be booked.")


# Outcome codes that are not gateway error codes, and the error they amount to (None: not an error by itself).
OUTCOME_CODES: dict[str, MutationErrorCode | None] = {
    "DEAD_LETTERED": MutationErrorCode.LOCATION_UNAVAILABLE,
    "TRANSFER_WITHDRAWN": None,  # the other side of a transfer failed; that side carries the cause
}


@strawberry.type(description="An expected failure of a mutation, with a stable code.")
class MutationError:
    code: MutationErrorCode = strawberry.field(description="What went wrong, as a stable code.")
    message: str = strawberry.field(description="What went wrong, for people; may change between versions.")
    field: str | None = strawberry.field(
        description="The input field at fault (its GraphQL name, e.g. startAt), when one is."
    )
    retry_after: float | None = strawberry.field(
        default=None,
        description="Seconds after which the same request is worth retrying, when the failure is passing (a "
        "CONFLICT while a request with the same idempotency key is still in progress); null otherwise.",
    )
    sharing_rule: SharingRuleName | None = strawberry.field(
        default=None,
        description="For SLOT_UNAVAILABLE: the sharing rule of a resource lent to the location that refused the "
        "time (the message says how); null otherwise.",
    )

    @classmethod
    def from_gateway_error(cls, error: GatewayError) -> MutationError:
        field = error.details.get("field")
        retry_after = error.details.get("retry_after")
        rule = error.details.get("rule")
        return cls(
            code=MutationErrorCode[error.code.name],
            message=error.message,
            field=field if isinstance(field, str) else None,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
            sharing_rule=SharingRuleName(rule) if isinstance(rule, str) else None,
        )


@strawberry.type(description="What became of a write at one location.")
class LocationOutcome:
    location_id: strawberry.ID = strawberry.field(description="Global id of the location written to.")
    status: DeliveryStatus = strawberry.field(description="Delivered, queued for retry, or failed.")
    code: str | None = strawberry.field(
        description="Why it is not delivered: a location's rejection code (e.g. SLOT_UNAVAILABLE), "
        "LOCATION_UNAVAILABLE while queued, or DEAD_LETTERED when retries ran out."
    )
    reason: str | None = strawberry.field(description="Why it is not delivered, for people.")
    outbox_message_id: strawberry.ID = strawberry.field(
        description="Global id of the outbox message carrying the write; pass it to replayOutboxMessage."
    )
    location_key: strawberry.Private[str]

    @classmethod
    def from_outcome(cls, outcome: Any) -> LocationOutcome:
        """From a sync.outbox.delivery.DeliveryOutcome."""
        return cls(
            location_id=strawberry.ID(to_global_id("Location", outcome.location_id)),
            status=DeliveryStatus(outcome.status.value),
            code=outcome.code,
            reason=outcome.reason,
            outbox_message_id=strawberry.ID(to_global_id("OutboxMessage", outcome.message_id)),
            location_key=outcome.location_id,
        )

    def as_error(self) -> MutationError | None:
        """The error this outcome means for a write that must land at its location to count."""
        if self.status is not DeliveryStatus.FAILED:
            return None
        code = self.code or ""
        error_code: MutationErrorCode | None
        if code in MutationErrorCode.__members__:
            error_code = MutationErrorCode[code]
        elif code in OUTCOME_CODES:
            error_code = OUTCOME_CODES[code]
        else:
            error_code = MutationErrorCode.CONFLICT  # e.g. REJECTED: an earlier delivery was refused
        if error_code is None:
            return None
        message = f"{self.location_key} did not take the write: {self.reason or code}"
        return MutationError(code=error_code, message=message, field=None)

    @strawberry.field(graphql_type=Location, description="The location written to.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_key)


@strawberry.type(description="What every mutation answers besides the object it wrote.")
class MutationPayload:
    outcomes: list[LocationOutcome] = strawberry.field(
        description="Each location's outcome of the write; empty when the gateway refused it before any location."
    )
    errors: list[MutationError] = strawberry.field(
        description="Expected failures; empty when the write went through (or is queued for a location)."
    )


@strawberry.type(description="What a stock mutation answers: the item and its level where it changed.")
class StockChangePayload(MutationPayload):
    item_key: strawberry.Private[str | None]
    location_key: strawberry.Private[str | None]

    @strawberry.field(description="The item; null when the request was refused (see errors).")
    async def item(self, info: Info) -> StockItem | None:
        row = None if self.item_key is None else await info.context.loaders.stock_item_by_id.load(self.item_key)
        return None if row is None else StockItem.from_row(row)

    @strawberry.field(
        description="The item's level at the location as the cache has it now (changed at once, even while the "
        "write is queued for the location); null when the request was refused."
    )
    async def stock_level(self, info: Info) -> StockLevel | None:
        if self.item_key is None:
            return None
        rows = await info.context.loaders.stock_levels_by_item_id.load(self.item_key)
        return next((StockLevel.from_row(row) for row in rows if row.location_id == self.location_key), None)


@strawberry.type(description="A write waiting in the outbox for its location, delivered, or given up on.")
class OutboxMessage:
    id: strawberry.ID = strawberry.field(description="Global id of the message.")
    location_id: strawberry.ID = strawberry.field(description="Global id of the location it is for.")
    entity_type: str = strawberry.field(description="What kind of object it writes, e.g. booking.")
    entity_id: str = strawberry.field(description="Network-wide key of the object it writes.")
    operation: str = strawberry.field(description="The write, e.g. booking.create or stock.change.")
    status: str = strawberry.field(description="pending, delivered, rejected, dead (dead-lettered) or cancelled.")
    attempts: int = strawberry.field(description="Deliveries tried since it was written or last replayed.")
    last_error: str | None = strawberry.field(description="Why the last delivery failed, if it did.")
    created_at: datetime = strawberry.field(description="When the write was queued.")
    next_attempt_at: datetime = strawberry.field(description="When the next delivery is due, while pending.")
    delivered_at: datetime | None = strawberry.field(description="When the location took it.")
    location_key: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Any) -> OutboxMessage:
        return cls(
            id=strawberry.ID(to_global_id("OutboxMessage", row.id)),
            location_id=strawberry.ID(to_global_id("Location", row.location_id)),
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            operation=row.operation,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            location_key=row.location_id,
        )

    @strawberry.field(graphql_type=Location, description="The location it is for.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_key)


async def load_outbox_message(info: Info, key: str) -> OutboxMessage | None:
    row = await info.context.loaders.outbox_message_by_id.load(key)
    return None if row is None else OutboxMessage.from_row(row)
