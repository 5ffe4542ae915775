"""GET conflicts and POST conflicts/{id}/resolve for the Booksy location(s): resolvers.sync_admin's
list_conflicts and resolve_conflict, as listConflicts and resolveConflict call them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.errors import NotFoundError
from resolvers.locations.platforms import platform_locations
from resolvers.permissions import Permission
from resolvers.sync_admin.queries import ConflictFilter, list_conflicts, resolve_conflict
from shims.booksy.admin import PageInfo, PageQuery, admin_context, admin_endpoint, page_args, page_info
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body, parse_query

ConflictStatus = Literal["pending", "resolved"]


class ConflictsQuery(PageQuery):
    status: ConflictStatus | None = Field(default=None, description="Only conflicts in this status")


class ConflictOut(BaseModel):
    id: str = Field(max_length=64)
    conflict_type: str = Field(max_length=50)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=64)
    source_location_id: str = Field(max_length=64, description="Where the change that arrived came from")
    target_location_id: str | None = Field(max_length=64, description="Where the network's side came from")
    sync_job_id: str | None = Field(max_length=64)
    status: str = Field(max_length=20)
    resolution_strategy: str | None = Field(max_length=50)
    source_data: dict[str, Any]
    target_data: dict[str, Any]
    resolved_data: dict[str, Any] | None
    resolved_by: str | None = Field(max_length=200)
    resolved_at: datetime | None
    created_at: datetime


class ConflictsAnswer(BaseModel):
    conflicts: list[ConflictOut] = Field(max_length=100)
    page: PageInfo


class ResolveRequest(BaseModel):
    choice: Literal["source", "target"] | None = Field(
        default=None, description="source: keep the location's change; target: keep what the network held"
    )
    merged_data: dict[str, Any] | None = Field(
        default=None, max_length=50, description="Field values to keep instead (not with `choice`)"
    )


def _conflict(row: Any) -> ConflictOut:
    return ConflictOut.model_validate(dict(row._mapping))


async def conflicts(request: Request) -> Response:
    context = await admin_context(request, Permission.VIEW_SYNC)
    query = parse_query(request, ConflictsQuery, code="INVALID_INPUT")
    ids = await platform_locations(context, query.location)
    if not ids:
        empty = ConflictsAnswer(conflicts=[], page=PageInfo(has_more=False, total=0))
        return JSONResponse(empty.model_dump(mode="json"))
    where = ConflictFilter(statuses=None if query.status is None else [query.status], location_ids=ids)
    result = await list_conflicts(context, where, page_args(query))
    answer = ConflictsAnswer(conflicts=[_conflict(row) for row in result.page.rows], page=await page_info(result))
    return JSONResponse(answer.model_dump(mode="json"))


async def resolve(request: Request) -> Response:
    context = await admin_context(request, Permission.SETTLE_SYNC)
    conflict_id = request.path_params["conflict_id"]
    decision = await parse_body(request, ResolveRequest, code="INVALID_INPUT")
    row = await context.loaders.conflict_by_id.load(conflict_id)
    booksy = set(await platform_locations(context))
    if row is None or not {row.source_location_id, row.target_location_id} & booksy:
        raise NotFoundError(f"no conflict {conflict_id!r} at a Booksy location", field="id")
    await resolve_conflict(context, conflict_id, choice=decision.choice, merged=decision.merged_data)
    context.reset_loaders()
    resolved = await context.loaders.conflict_by_id.load(conflict_id)
    return JSONResponse(_conflict(resolved).model_dump(mode="json"))


def conflict_endpoints() -> list[Endpoint]:
    return [
        admin_endpoint(
            "GET",
            "conflicts",
            conflicts,
            "Conflicts with a Booksy location on either side, newest first",
            query_model=ConflictsQuery,
            response_model=ConflictsAnswer,
        ),
        admin_endpoint(
            "POST",
            "conflicts/{conflict_id}/resolve",
            resolve,
            "Resolve a pending conflict: one side, or merged field values; the result goes to every location",
            request_model=ResolveRequest,
            response_model=ConflictOut,
            refusals={409: "CONFLICT: the conflict was resolved already"},
        ),
    ]
