"""Listing audit entries, newest first, filtered by actor, action, location and time, through the row scope
(`scope.audit()`: a location's people see their locations' entries only, never the network-wide ones)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from resolvers import bounds
from resolvers.context import Context
from resolvers.listing import ListResult, list_page
from resolvers.pagination import PageArgs, SortOrder
from resolvers.scope import scoped
from resolvers.validation import require_ordered_range
from sources.cache.models import AuditEntry

audit_entries = AuditEntry.__table__

AUDIT_ORDER = SortOrder("audit_entry", (audit_entries.c.occurred_at, audit_entries.c.id), descending=True)
ACTOR_LENGTH = 200  # as the column holds them
ACTION_LENGTH = 100


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None  # exactly this subject (a person's, a service's, or `location:<id>`)
    action: str | None = None  # exactly this action, e.g. booking.create
    location_id: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def _checked(where: AuditFilter) -> AuditFilter:
    bounds.optional_text("actor", where.actor, ACTOR_LENGTH)
    bounds.optional_text("action", where.action, ACTION_LENGTH)
    bounds.optional_key("locationId", where.location_id)
    bounds.optional_instant("from", where.start)
    bounds.optional_instant("to", where.end)
    require_ordered_range("from", where.start, "to", where.end)
    return where


async def list_audit_entries(context: Context, where: AuditFilter, args: PageArgs) -> ListResult:
    where = _checked(where)
    entries = audit_entries.c
    statement = scoped(select(audit_entries), context.scope.audit())
    if where.actor is not None:
        statement = statement.where(entries.actor == where.actor)
    if where.action is not None:
        statement = statement.where(entries.action == where.action)
    if where.location_id is not None:
        statement = statement.where(entries.location_id == where.location_id)
    if where.start is not None:
        statement = statement.where(entries.occurred_at >= where.start)
    if where.end is not None:
        statement = statement.where(entries.occurred_at < where.end)
    return await list_page(context, statement, AUDIT_ORDER, args)
