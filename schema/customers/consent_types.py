"""Consent records as the API shows them: each grant or withdrawal, and the current state per purpose."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.clock import utc_now
from resolvers.customers.consent_writes import ConsentChannel
from resolvers.customers.consents import Purpose, in_force
from resolvers.ids import to_global_id
from schema.enums import graphql_enum
from schema.locations.types import Location, location_by_id

graphql_enum(
    Purpose,
    "What a consent is for (the Booksy consent manager's purposes).",
    {
        Purpose.DATA_SHARING: "The customer's record may be sent to the network's other locations.",
        Purpose.APPOINTMENT_HISTORY: "Their booking history may be kept and used across the network.",
        Purpose.CONTACT_INFO: "Their email and phone may be used to contact them about bookings.",
        Purpose.SERVICE_PREFERENCES: "Their preferences (staff, services) may be kept and used.",
        Purpose.MARKETING: "They may be sent marketing.",
    },
)
graphql_enum(
    ConsentChannel,
    "How a consent was given or withdrawn.",
    {
        ConsentChannel.WEBSITE: "On a location's website.",
        ConsentChannel.APP: "In an app.",
        ConsentChannel.IN_PERSON: "In person, at the location.",
        ConsentChannel.PHONE: "By phone.",
        ConsentChannel.EMAIL: "By email.",
        ConsentChannel.PAPER: "On a paper form.",
        ConsentChannel.API: "By another system, through the API.",
    },
)


@strawberry.type(description="One grant or withdrawal of consent for one purpose; records are never changed.")
class ConsentRecord:
    id: strawberry.ID = strawberry.field(description="Global id of the record.")
    purpose: Purpose = strawberry.field(description="What the consent is for.")
    granted: bool = strawberry.field(description="True for a grant, false for a withdrawal.")
    at: datetime = strawberry.field(description="When it was recorded.")
    expires_at: datetime | None = strawberry.field(description="When a grant lapses; null: it does not.")
    in_force: bool = strawberry.field(
        description="A grant that has not expired; false for a withdrawal or an expired grant."
    )
    recorded_by: str = strawberry.field(description="Who recorded it: the subject of the caller's token.")
    recorded_by_role: str = strawberry.field(description="The role the recorder acted in, e.g. customer.")
    channel: ConsentChannel = strawberry.field(description="How it was given or withdrawn.")
    ip_address: str | None = strawberry.field(description="The customer's IP address, where it was given.")
    user_agent: str | None = strawberry.field(description="The customer's browser or app, where it was given.")
    location_key: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Any, now: datetime | None = None) -> ConsentRecord:
        return cls(
            id=strawberry.ID(to_global_id("ConsentRecord", str(row.id))),
            purpose=Purpose(row.purpose),
            granted=row.granted,
            at=row.recorded_at,
            expires_at=row.expires_at,
            in_force=in_force(row, now or utc_now()),
            recorded_by=row.actor,
            recorded_by_role=row.actor_role,
            channel=ConsentChannel(row.channel),
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            location_key=row.location_id,
        )

    @strawberry.field(graphql_type=Location | None, description="The location it was given through, if any.")
    def location(self, info: Info) -> Location | Awaitable[Location] | None:
        return None if self.location_key is None else location_by_id(info, self.location_key)


def current_of(rows: list[Any]) -> list[ConsentRecord]:
    """The newest record per purpose (rows oldest first), in the purposes' order."""
    newest = {row.purpose: row for row in rows}
    now = utc_now()
    return [ConsentRecord.from_row(newest[p.value], now) for p in Purpose if p.value in newest]
