"""GET operations and GET errors for the Booksy location(s).

operations: the location's sync jobs, a page at a time (newest first), and its newest outbox operations (writes
to the platform: pending, delivered, rejected, dead, cancelled).
errors: what went wrong lately, newest first: failed sync steps, writes given up on (dead outbox messages),
webhooks refused (the audit log); older ones with `before=<the last one's occurred_at>`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.locations.platforms import platform_locations
from resolvers.permissions import Permission
from resolvers.sync_admin.outbox import list_outbox_messages
from resolvers.sync_admin.queries import SyncJobFilter, list_sync_jobs
from resolvers.sync_admin.status import sync_problems
from shims.booksy.admin import (
    PAGE_MAX,
    LocationQuery,
    PageInfo,
    PageQuery,
    admin_context,
    admin_endpoint,
    page_args,
    page_info,
)
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_query

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class SyncJobOut(BaseModel):
    id: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    trigger: str = Field(max_length=20, description="scheduled | manual | webhook | recovery | registered")
    entity_types: list[str] = Field(max_length=10)
    status: str = Field(max_length=20, description="running | completed | failed | rolled_back")
    full: bool
    pulled_count: int = Field(ge=0)
    applied_count: int = Field(ge=0)
    deleted_count: int = Field(ge=0)
    conflict_count: int = Field(ge=0)
    error_count: int = Field(ge=0)
    error_message: str | None = Field(max_length=10_000)
    started_at: datetime
    completed_at: datetime | None
    duration_ms: int | None = Field(ge=0)


class OutboxOperation(BaseModel):
    id: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=64)
    operation: str = Field(max_length=30)
    status: str = Field(max_length=20)
    attempts: int = Field(ge=0)
    last_error: str | None = Field(max_length=10_000)
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


class OperationsAnswer(BaseModel):
    sync_jobs: list[SyncJobOut] = Field(max_length=PAGE_MAX)
    page: PageInfo = Field(description="The sync jobs' page")
    outbox: list[OutboxOperation] = Field(max_length=PAGE_MAX, description="The newest `first` outbox operations")


class ErrorsQuery(LocationQuery):
    first: int = Field(default=20, ge=1, le=PAGE_MAX)
    before: AwareDatetime | None = Field(default=None, description="Only errors older than this")


class Problem(BaseModel):
    kind: Literal["sync_step", "outbox_dead", "webhook_refused"]
    id: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    occurred_at: datetime
    what: str = Field(max_length=200)
    detail: str | None = Field(max_length=10_000)


class ErrorsAnswer(BaseModel):
    errors: list[Problem] = Field(max_length=PAGE_MAX)


def _row(model: type[BaseModel], row: Any) -> Any:
    return model.model_validate({name: row._mapping[name] for name in model.model_fields})


async def operations(request: Request) -> Response:
    context = await admin_context(request, Permission.VIEW_SYNC)
    query = parse_query(request, PageQuery, code="INVALID_INPUT")
    ids = await platform_locations(context, query.location)
    if not ids:
        empty = OperationsAnswer(sync_jobs=[], page=PageInfo(has_more=False, total=0), outbox=[])
        return JSONResponse(empty.model_dump(mode="json"))
    jobs = await list_sync_jobs(context, SyncJobFilter(location_ids=ids), page_args(query))
    outbox = await list_outbox_messages(context, None, ids, query.first)
    answer = OperationsAnswer(
        sync_jobs=[_row(SyncJobOut, row) for row in jobs.page.rows],
        page=await page_info(jobs),
        outbox=[_row(OutboxOperation, row) for row in outbox],
    )
    return JSONResponse(answer.model_dump(mode="json"))


async def errors(request: Request) -> Response:
    context = await admin_context(request, Permission.VIEW_SYNC)
    query = parse_query(request, ErrorsQuery, code="INVALID_INPUT")
    ids = await platform_locations(context, query.location)
    before = None if query.before is None else max(query.before, EARLIEST)
    found = await sync_problems(context, ids, before=before, limit=query.first) if ids else []
    answer = ErrorsAnswer(
        errors=[
            Problem(
                kind=p.kind,
                id=p.id[:64],
                location_id=p.location_id,
                occurred_at=p.occurred_at,
                what=p.what[:200],
                detail=None if p.detail is None else p.detail[:10_000],
            )
            for p in found
        ]
    )
    return JSONResponse(answer.model_dump(mode="json"))


def operation_endpoints() -> list[Endpoint]:
    return [
        admin_endpoint(
            "GET",
            "operations",
            operations,
            "A Booksy location's sync jobs (paged, newest first) and its newest outbox operations",
            query_model=PageQuery,
            response_model=OperationsAnswer,
        ),
        admin_endpoint(
            "GET",
            "errors",
            errors,
            "Failed sync steps, dead outbox messages and refused webhooks at the Booksy location(s), newest first",
            query_model=ErrorsQuery,
            response_model=ErrorsAnswer,
        ),
    ]
