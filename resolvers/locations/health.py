"""Network health: each location's reachability, freshness, sync jobs, pending conflicts and queued writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from resolvers.context import Context
from sources.cache.models import Conflict, Location, OutboxMessage, SyncJob

locations = Location.__table__
conflicts = Conflict.__table__
outbox = OutboxMessage.__table__
sync_jobs = SyncJob.__table__


@dataclass(frozen=True, slots=True)
class LocationHealth:
    location_id: str
    status: str
    last_heartbeat_at: datetime | None
    last_sync_at: datetime | None
    pending_conflicts: int
    queue_depth: int
    dead_letters: int
    last_sync_job_id: str | None
    syncing: bool


async def network_health(context: Context) -> list[LocationHealth]:
    """One row per location the scope shows; what is counted at it is what its domain's scope shows."""
    scope = context.scope
    # A conflict with no target location (the network's side was a gateway write) counts at its source.
    conflict_location = func.coalesce(conflicts.c.target_location_id, conflicts.c.source_location_id)
    pending = (
        select(conflict_location.label("location_id"), func.count().label("n"))
        .where(conflicts.c.status == "pending", scope.conflicts())
        .group_by(conflict_location)
        .subquery()
    )
    queued = (
        select(
            outbox.c.location_id,
            func.count().filter(outbox.c.status == "pending").label("pending"),
            func.count().filter(outbox.c.status == "dead").label("dead"),
        )
        .where(scope.outbox())
        .group_by(outbox.c.location_id)
        .subquery()
    )
    # Each location's most recently started job (the running one while it syncs).
    ranked = (
        select(
            sync_jobs.c.location_id,
            sync_jobs.c.id,
            sync_jobs.c.status,
            func.row_number()
            .over(partition_by=sync_jobs.c.location_id, order_by=(sync_jobs.c.started_at.desc(), sync_jobs.c.id.desc()))
            .label("rank"),
        )
        .where(scope.sync_jobs())
        .subquery()
    )
    latest = select(ranked.c.location_id, ranked.c.id, ranked.c.status).where(ranked.c.rank == 1).subquery()
    statement = (
        select(
            locations.c.id,
            locations.c.status,
            locations.c.last_heartbeat_at,
            locations.c.last_sync_at,
            func.coalesce(pending.c.n, 0),
            func.coalesce(queued.c.pending, 0),
            func.coalesce(queued.c.dead, 0),
            latest.c.id,
            latest.c.status,
        )
        .outerjoin(pending, pending.c.location_id == locations.c.id)
        .outerjoin(queued, queued.c.location_id == locations.c.id)
        .outerjoin(latest, latest.c.location_id == locations.c.id)
        .where(scope.locations())
        .order_by(locations.c.id)
    )
    async with context.engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [
        LocationHealth(
            location_id=row[0],
            status=row[1],
            last_heartbeat_at=row[2],
            last_sync_at=row[3],
            pending_conflicts=int(row[4]),
            queue_depth=int(row[5]),
            dead_letters=int(row[6]),
            last_sync_job_id=row[7],
            syncing=row[8] == "running",
        )
        for row in rows
    ]


def breaker_state(context: Context, location_id: str) -> str | None:
    """The location's circuit breaker as its connector sees it (closed, open, half_open); None where the connector
    does not say (only some expose it) or there is none."""
    connector = context.services.connectors.get(location_id)
    state = getattr(connector, "breaker_state", None)
    return state if isinstance(state, str) else None
