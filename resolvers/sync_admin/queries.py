"""Sync jobs and conflicts: listing them, and asking the sync engine to start, resolve or roll back.

Every call into the engine goes through `engine_errors`, the one place where the engine's refusals
(sync.errors) become the API's error codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import ConflictError, GatewayError, InvalidInputError, NotFoundError, SyncInProgressError
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import scoped
from sources.cache.models import Conflict, SyncJob
from sources.connectors.records import EntityType as PulledType
from sync.errors import (
    ConflictAlreadyResolved,
    ConflictNotFound,
    InvalidResolution,
    JobStillRunning,
    NotPullable,
    SyncError,
    SyncInProgress,
    SyncJobNotFound,
    UnknownLocation,
)
from sync.types import ConflictChoice, RollbackReport

sync_jobs = SyncJob.__table__
conflicts = Conflict.__table__

SYNC_JOB_ORDER = SortOrder("sync_job", (sync_jobs.c.started_at, sync_jobs.c.id), descending=True)
CONFLICT_ORDER = SortOrder("conflict", (conflicts.c.created_at, conflicts.c.id), descending=True)

# How long `triggerSync(wait: true)` waits for the job before answering with it still running.
WAIT_SECONDS = 60.0

# One kind of entity, two spellings: a job lists what it pulls in the plural (the sync priority order's
# names), a conflict names its one entity in the singular. The API speaks the singular.
PLURALS = {
    "customer": "customers",
    "booking": "bookings",
    "resource": "resources",
    "service": "services",
    "inventory": "inventory",
}
SINGULARS = {plural: singular for singular, plural in PLURALS.items()}

# The engine's refusal → the API's error, and the input field at fault when there is one.
ENGINE_ERRORS: dict[type[SyncError], tuple[type[GatewayError], str | None]] = {
    UnknownLocation: (NotFoundError, "locationId"),
    NotPullable: (InvalidInputError, None),
    SyncInProgress: (SyncInProgressError, None),
    SyncJobNotFound: (NotFoundError, "id"),
    JobStillRunning: (ConflictError, None),
    ConflictNotFound: (NotFoundError, "id"),
    ConflictAlreadyResolved: (ConflictError, None),
    InvalidResolution: (InvalidInputError, "mergedData"),
}


@contextmanager
def engine_errors() -> Iterator[None]:
    """Raises the GatewayError an engine refusal amounts to; anything else propagates (and is masked)."""
    try:
        yield
    except SyncError as error:
        kind = next((k for k in type(error).__mro__ if k in ENGINE_ERRORS), None)
        if kind is None:
            raise
        gateway_error, field = ENGINE_ERRORS[kind]
        details: dict[str, Any] = {"field": field}
        if isinstance(error, SyncInProgress):
            details["job_id"] = error.job_id
        raise gateway_error(error.message, **details) from error


@dataclass(frozen=True, slots=True)
class SyncJobFilter:
    location_ids: list[str] | None = None
    statuses: list[str] | None = None
    triggers: list[str] | None = None


@dataclass(frozen=True, slots=True)
class ConflictFilter:
    statuses: list[str] | None = None
    entity_types: list[str] | None = None
    location_ids: list[str] | None = None


async def list_sync_jobs(context: Context, where: SyncJobFilter, args: PageArgs) -> ListResult:
    """Newest first."""
    statement = scoped(select(sync_jobs), context.scope.sync_jobs())
    if where.location_ids:
        statement = statement.where(sync_jobs.c.location_id.in_(where.location_ids))
    if where.statuses:
        statement = statement.where(sync_jobs.c.status.in_(where.statuses))
    if where.triggers:
        statement = statement.where(sync_jobs.c.trigger.in_(where.triggers))
    return await list_page(context, statement, SYNC_JOB_ORDER, args)


async def list_conflicts(context: Context, where: ConflictFilter, args: PageArgs) -> ListResult:
    """Newest first; a location filter matches either side of a conflict."""
    statement = scoped(select(conflicts), context.scope.conflicts())
    if where.statuses:
        statement = statement.where(conflicts.c.status.in_(where.statuses))
    if where.entity_types:
        statement = statement.where(conflicts.c.entity_type.in_(where.entity_types))
    if where.location_ids:
        statement = statement.where(
            or_(
                conflicts.c.source_location_id.in_(where.location_ids),
                conflicts.c.target_location_id.in_(where.location_ids),
            )
        )
    return await list_page(context, statement, CONFLICT_ORDER, args)


def pulled_types(entity_types: Sequence[str] | None) -> list[PulledType] | None:
    """The engine's names for what to pull; None (every type the location gives) when none are named."""
    if entity_types is None:
        return None
    if not entity_types:
        raise InvalidInputError(
            "name at least one entity type, or leave `entityTypes` out for all", field="entityTypes"
        )
    pullable = {str(kind) for kind in PulledType}
    pulled: list[PulledType] = []
    for singular in dict.fromkeys(entity_types):
        plural = PLURALS[singular]
        if plural not in pullable:
            raise InvalidInputError(
                f"{plural} are not pulled by sync; choose from {', '.join(sorted(SINGULARS[p] for p in pullable))}",
                field="entityTypes",
            )
        pulled.append(PulledType(plural))
    return pulled


async def trigger_sync(
    context: Context, location_id: str, entity_types: Sequence[str] | None, *, full: bool, wait: bool
) -> str:
    """Start a manual job for the location (and wait for it to end when asked); returns its id."""
    bounds.key("locationId", location_id)
    if await context.loaders.location_by_id.load(location_id) is None:
        raise NotFoundError(f"no location has id {location_id!r}", id=location_id, field="locationId")
    pulled = pulled_types(entity_types)
    sync = context.services.sync
    with engine_errors():
        job_id = await sync.start_job(location_id, pulled, trigger="manual", full=full)
        if wait:
            # Past the wait the answer shows the job still running; its end comes as a syncEvents event.
            with suppress(TimeoutError):
                await sync.wait_for(job_id, WAIT_SECONDS)
    return job_id


async def resolve_conflict(
    context: Context, conflict_id: str, *, choice: str | None, merged: dict[str, Any] | None
) -> None:
    """Apply one side of a pending conflict, or merged field values; the engine propagates the result."""
    bounds.key("id", conflict_id)
    if (choice is None) == (merged is None):
        raise InvalidInputError("pass exactly one of `choice` and `mergedData`")
    if merged is not None:
        bounds.json_value("mergedData", merged)
    row = await context.loaders.conflict_by_id.load(conflict_id)
    if row is None:
        raise NotFoundError(f"no conflict has id {conflict_id!r}", id=conflict_id, field="id")
    if row.status != "pending":
        raise ConflictError(f"conflict {conflict_id} was resolved already", id=conflict_id)
    with engine_errors():
        await context.services.sync.resolve_conflict(
            conflict_id,
            choice=None if choice is None else ConflictChoice(choice),
            merged=merged,
            resolved_by=context.principal.subject,
        )


async def rollback_sync_job(context: Context, job_id: str) -> RollbackReport:
    """Undo what a job applied, in the cache and at the locations; a second rollback changes nothing."""
    bounds.key("id", job_id)
    if await context.loaders.sync_job_by_id.load(job_id) is None:
        raise NotFoundError(f"no sync job has id {job_id!r}", id=job_id, field="id")
    with engine_errors():
        return await context.services.sync.rollback_job(job_id)
