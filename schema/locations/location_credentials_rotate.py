"""rotateLocationCredentials: a new inbound API key for a location, the previous one valid for a grace period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.errors import GatewayError
from resolvers.locations import registration
from schema.locations.types import Location
from schema.payloads import MutationError
from schema.permissions import Permission, requires
from schema.write_inputs import key_for, load_location


@strawberry.input(description="Whose credentials to rotate.")
class RotateLocationCredentialsInput:
    location_id: strawberry.ID = strawberry.field(description="Global id of the location.")


@strawberry.type(description="The answer to rotateLocationCredentials.")
class RotateLocationCredentialsPayload:
    errors: list[MutationError] = strawberry.field(description="Expected failures, e.g. NOT_FOUND.")
    api_key: str | None = strawberry.field(
        description="The location's new inbound API key, shown only in this answer; null when refused."
    )
    previous_key_expires_at: datetime | None = strawberry.field(
        description="Until when the previous key is still accepted (the grace period); null when there was none."
    )
    location_key: strawberry.Private[str | None]

    @strawberry.field(description="The location; null when the request was refused.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_key)


@strawberry.type
class LocationCredentialsRotateMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MANAGE_LOCATIONS)],
        description="Gives a location a new inbound API key; the previous one keeps working for the grace period "
        "(credential_grace_seconds), then is refused. Its outbound credentials are kept.",
    )
    async def rotate_location_credentials(
        self,
        info: Info,
        input: Annotated[RotateLocationCredentialsInput, strawberry.argument(description="The location.")],
    ) -> RotateLocationCredentialsPayload:
        try:
            location_id = key_for(input.location_id, "Location", "locationId")
            rotation = await registration.rotate_location_credentials(info.context, location_id)
        except GatewayError as error:
            return RotateLocationCredentialsPayload(
                errors=[MutationError.from_gateway_error(error)],
                api_key=None,
                previous_key_expires_at=None,
                location_key=None,
            )
        return RotateLocationCredentialsPayload(
            errors=[],
            api_key=rotation.api_key,
            previous_key_expires_at=rotation.previous_expires_at,
            location_key=rotation.location_id,
        )
