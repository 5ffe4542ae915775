"""Data subject requests as the API shows them: an export or an erasure, its due date, each location's outcome."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.ids import to_global_id
from schema.locations.types import Location, location_by_id


@strawberry.enum(description="What a data subject asked for.")
class DataSubjectRequestKind(Enum):
    EXPORT = strawberry.enum_value("export", description="Everything the network holds on them (access).")
    ERASURE = strawberry.enum_value("erasure", description="Their personal data anonymised everywhere.")


@strawberry.enum(description="Where a data subject request stands.")
class DataSubjectRequestStatus(Enum):
    IN_PROGRESS = strawberry.enum_value("in_progress", description="Some location has not been reached yet.")
    COMPLETED = strawberry.enum_value("completed", description="Every location that can be asked has answered.")


@strawberry.enum(description="What became of a data subject request at one location.")
class RequestOutcomeStatus(Enum):
    OK = strawberry.enum_value("ok", description="Asked live, and it answered (an export).")
    UNAVAILABLE = strawberry.enum_value("unavailable", description="It could not be reached (an export).")
    NOT_SUPPORTED = strawberry.enum_value(
        "not_supported", description="Its API cannot do this (what it sends is suppressed, for an erasure)."
    )
    QUEUED = strawberry.enum_value("queued", description="The erasure waits in the outbox until it is reachable.")
    DELIVERED = strawberry.enum_value("delivered", description="It anonymised its record.")
    FAILED = strawberry.enum_value("failed", description="It refused the erasure; see detail.")


@strawberry.type(description="A data subject request's outcome at one location.")
class RequestOutcome:
    status: RequestOutcomeStatus = strawberry.field(description="What became of the request there.")
    detail: str | None = strawberry.field(description="Why, for people, when it is not plain success.")
    location_key: strawberry.Private[str]

    @strawberry.field(graphql_type=Location, description="The location.")
    def location(self, info: Info) -> Location | Awaitable[Location]:
        return location_by_id(info, self.location_key)


@strawberry.type(description="An export or erasure asked for a customer, due 30 days after it was made.")
class DataSubjectRequest:
    id: strawberry.ID = strawberry.field(description="Global id of the request.")
    kind: DataSubjectRequestKind = strawberry.field(description="Export or erasure.")
    status: DataSubjectRequestStatus = strawberry.field(description="In progress or completed.")
    requested_at: datetime = strawberry.field(description="When it was made.")
    due_at: datetime = strawberry.field(description="When it must be answered by (30 days after it was made).")
    completed_at: datetime | None = strawberry.field(description="When the last location answered.")
    requested_by: str = strawberry.field(description="Who made it: the subject of the caller's token.")
    outcomes: list[RequestOutcome] = strawberry.field(description="Each location that knows the customer, by id.")

    @classmethod
    def from_row(cls, row: Any) -> DataSubjectRequest:
        outcomes = row.outcomes or {}
        return cls(
            id=strawberry.ID(to_global_id("DataSubjectRequest", row.id)),
            kind=DataSubjectRequestKind(row.kind),
            status=DataSubjectRequestStatus(row.status),
            requested_at=row.requested_at,
            due_at=row.due_at,
            completed_at=row.completed_at,
            requested_by=row.requested_by,
            outcomes=[
                RequestOutcome(
                    status=RequestOutcomeStatus(outcome["status"]),
                    detail=outcome.get("detail"),
                    location_key=location_id,
                )
                for location_id, outcome in sorted(outcomes.items())
            ],
        )


async def load_request(info: Info, customer_key: str | None, request_key: str | None) -> DataSubjectRequest | None:
    if customer_key is None or request_key is None:
        return None
    rows = await info.context.loaders.data_subject_requests_by_customer_id.load(customer_key)
    return next((DataSubjectRequest.from_row(row) for row in rows if row.id == request_key), None)
