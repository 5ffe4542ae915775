"""GET sync-status, GET health and POST full-sync for the Booksy location(s).

sync-status: per location, its health and, per entity type, the last sync step and the cursor's position.
health: per location, status, heartbeat, the connector's circuit breaker, queued and dead writes, conflicts.
full-sync: a full reconciliation job started now (resolvers.sync_admin trigger_sync, as triggerSync(full: true));
202 with the job, 409 SYNC_IN_PROGRESS while one runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.locations.health import LocationHealth, breaker_state, network_health
from resolvers.locations.platforms import platform_locations
from resolvers.permissions import Permission
from resolvers.sync_admin.queries import trigger_sync
from resolvers.sync_admin.status import EntitySyncStatus, entity_sync_status
from shims.booksy.admin import LocationQuery, admin_context, admin_endpoint, one_location
from shims.common.endpoint import Endpoint
from shims.common.parsing import json_body, parse_query, validated
from sources.network.model import SLUG

Verdict = Literal["healthy", "degraded", "failing"]
LOCATIONS_MAX = 100


class Health(BaseModel):
    location_id: str = Field(max_length=64)
    status: str = Field(max_length=20, description="online | degraded | offline")
    verdict: Verdict = Field(
        description="failing: offline or its last sync failed; degraded: not online, or "
        "conflicts or dead writes wait for a person; else healthy"
    )
    breaker: str | None = Field(max_length=20, description="closed | open | half_open (the connector's)")
    last_heartbeat_at: datetime | None
    last_sync_at: datetime | None
    syncing: bool
    last_sync_job_id: str | None = Field(max_length=64)
    pending_conflicts: int = Field(ge=0)
    queued_writes: int = Field(ge=0)
    dead_writes: int = Field(ge=0)


class EntityStatus(BaseModel):
    entity_type: str = Field(max_length=50)
    last_job_id: str | None = Field(max_length=64)
    last_status: str | None = Field(max_length=20, description="completed | failed")
    last_operation: str | None = Field(max_length=20, description="delta | full")
    last_started_at: datetime | None
    last_completed_at: datetime | None
    last_entity_count: int = Field(ge=0)
    last_error: str | None = Field(max_length=10_000)
    cursor_changed_at: datetime | None = Field(description="Where the next delta pull starts: this time...")
    cursor_key: str | None = Field(max_length=200, description="...and after this id")
    full_synced_at: datetime | None


class LocationSyncStatus(BaseModel):
    health: Health
    entities: list[EntityStatus] = Field(max_length=10)


class SyncStatusAnswer(BaseModel):
    locations: list[LocationSyncStatus] = Field(max_length=LOCATIONS_MAX)


class HealthAnswer(BaseModel):
    locations: list[Health] = Field(max_length=LOCATIONS_MAX)


class FullSyncRequest(BaseModel):
    location_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=SLUG,
        description="Left out: the only Booksy location the caller sees",
    )


class FullSyncAnswer(BaseModel):
    job_id: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    status: Literal["running"] = "running"
    full: Literal[True] = True


def _verdict(row: LocationHealth, last_failed: bool) -> Verdict:
    if row.status == "offline" or last_failed:
        return "failing"
    if row.status != "online" or row.pending_conflicts or row.dead_letters:
        return "degraded"
    return "healthy"


def _health(row: LocationHealth, breaker: str | None, entities: list[EntitySyncStatus]) -> Health:
    stepped = [(e.last_started_at, e.last_status) for e in entities if e.last_started_at is not None]
    last_failed = bool(stepped) and max(stepped)[1] == "failed"
    return Health(
        location_id=row.location_id,
        status=row.status,
        verdict=_verdict(row, last_failed),
        breaker=breaker,
        last_heartbeat_at=row.last_heartbeat_at,
        last_sync_at=row.last_sync_at,
        syncing=row.syncing,
        last_sync_job_id=row.last_sync_job_id,
        pending_conflicts=row.pending_conflicts,
        queued_writes=row.queue_depth,
        dead_writes=row.dead_letters,
    )


async def _statuses(request: Request) -> list[LocationSyncStatus]:
    context = await admin_context(request, Permission.VIEW_SYNC)
    query = parse_query(request, LocationQuery, code="INVALID_INPUT")
    ids = await platform_locations(context, query.location)
    entities = await entity_sync_status(context, ids)
    rows = [row for row in await network_health(context) if row.location_id in entities]
    return [
        LocationSyncStatus(
            health=_health(row, breaker_state(context, row.location_id), entities[row.location_id]),
            entities=[
                EntityStatus.model_validate(status, from_attributes=True) for status in entities[row.location_id]
            ],
        )
        for row in rows[:LOCATIONS_MAX]
    ]


async def sync_status(request: Request) -> Response:
    return JSONResponse(SyncStatusAnswer(locations=await _statuses(request)).model_dump(mode="json"))


async def health(request: Request) -> Response:
    statuses = await _statuses(request)
    return JSONResponse(HealthAnswer(locations=[s.health for s in statuses]).model_dump(mode="json"))


async def full_sync(request: Request) -> Response:
    context = await admin_context(request, Permission.OPERATE_SYNC)
    raw = await request.body()
    given = validated(
        FullSyncRequest, json_body(raw, code="INVALID_INPUT") if raw.strip() else {}, code="INVALID_INPUT"
    )
    location_id = await one_location(context, given.location_id)
    job_id = await trigger_sync(context, location_id, None, full=True, wait=False)
    return JSONResponse(FullSyncAnswer(job_id=job_id, location_id=location_id).model_dump(mode="json"), status_code=202)


def status_endpoints() -> list[Endpoint]:
    return [
        admin_endpoint(
            "GET",
            "sync-status",
            sync_status,
            "Per Booksy location: health, and per entity type the last sync step and the cursor's position",
            query_model=LocationQuery,
            response_model=SyncStatusAnswer,
        ),
        admin_endpoint(
            "GET",
            "health",
            health,
            "Per Booksy location: status, last heartbeat, circuit breaker, queued and dead writes, conflicts",
            query_model=LocationQuery,
            response_model=HealthAnswer,
        ),
        admin_endpoint(
            "POST",
            "full-sync",
            full_sync,
            "Start a full sync (a reconciliation that also finds deletions) of a Booksy location now",
            request_model=FullSyncRequest,
            body_required=False,
            response_model=FullSyncAnswer,
            success_status=202,
            refusals={409: "SYNC_IN_PROGRESS: a sync job of the location is running"},
        ),
    ]
