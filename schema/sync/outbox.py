"""Root field for the outbox: writes waiting for their location, delivered, or dead-lettered."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.ids import keys_of
from resolvers.sync_admin.outbox import list_outbox_messages
from schema.payloads import OutboxMessage
from schema.permissions import Permission, requires


@strawberry.type
class OutboxQueries:
    @strawberry.field(
        permission_classes=[requires(Permission.VIEW_SYNC)],
        description="Outbox messages, newest first; dead-lettered ones can be replayed.",
    )
    async def outbox_messages(
        self,
        info: Info,
        statuses: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these: pending, delivered, rejected, dead, cancelled."),
        ] = None,
        location_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only messages for these locations.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="How many, at most.")] = 50,
    ) -> list[OutboxMessage]:
        locations = keys_of([str(i) for i in location_ids], "Location") if location_ids else None
        rows = await list_outbox_messages(info.context, statuses, locations, first)
        return [OutboxMessage.from_row(row) for row in rows]
