"""Root field for the audit log: who changed what, when, at which location."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.audit.queries import AuditFilter, list_audit_entries
from resolvers.ids import key_of
from schema.arguments import After, Before, First, Last, page_args
from schema.permissions import Permission, requires
from schema.relay import Connection, build_connection


@strawberry.type(description="One audited change: who did what, when, to which entity, at which location.")
class AuditEntry:
    entry_id: int = strawberry.field(description="The entry's number in the audit log (it grows with time).")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    actor: str = strawberry.field(description="Who did it: a token's subject, or `location:<id>` for a location.")
    action: str = strawberry.field(description="What was done, e.g. booking.create or customer.merge.")
    entity_type: str = strawberry.field(description="The kind of entity changed, e.g. booking.")
    entity_id: str = strawberry.field(description="The entity's network id (its key, not a global id).")
    location_network_id: str | None = strawberry.field(
        description="The location the change was at; null for network-wide changes."
    )
    request_id: str | None = strawberry.field(description="The request that made the change, as logged.")
    details: JSON = strawberry.field(description="What the change said, as recorded (never secrets).")

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        return cls(
            entry_id=row.id,
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            location_network_id=row.location_id,
            request_id=row.request_id,
            details=row.details,
        )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_AUDIT)],
        description=(
            "The audit log, newest first. A location manager sees the entries of their locations only "
            "(never network-wide ones); the network's administrators see every entry."
        ),
    )
    async def audit_entries(
        self,
        info: Info,
        actor: Annotated[str | None, strawberry.argument(description="Only entries by this actor, exactly.")] = None,
        action: Annotated[str | None, strawberry.argument(description="Only this action, e.g. booking.create.")] = None,
        location_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only changes at this location.")
        ] = None,
        start: Annotated[
            datetime | None, strawberry.argument(name="from", description="From this instant, inclusive.")
        ] = None,
        end: Annotated[
            datetime | None, strawberry.argument(name="to", description="Until this instant, exclusive.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AuditEntry]:
        location = None if location_id is None else key_of(str(location_id), "Location", field="locationId")
        where = AuditFilter(actor=actor, action=action, location_id=location, start=start, end=end)
        result = await list_audit_entries(info.context, where, page_args(first, after, last, before))
        return build_connection(result, AuditEntry.from_row)
