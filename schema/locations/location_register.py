"""registerLocation: a location joins the network at run time (an admin's mutation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.errors import GatewayError
from resolvers.locations import registration
from schema.locations.types import Location, LocationKind
from schema.payloads import MutationError
from schema.permissions import Permission, requires
from schema.write_inputs import load_location


@strawberry.input(description="Credentials the gateway uses with the location; give what its kind needs.")
class LocationCredentialsInput:
    api_key: str | None = strawberry.field(default=None, description="bookingx and pms: the location's API key.")
    api_secret: str | None = strawberry.field(default=None, description="bookingx: the handshake's HMAC secret.")
    client_id: str | None = strawberry.field(default=None, description="platform: the OAuth2 client id.")
    client_secret: str | None = strawberry.field(default=None, description="platform: the OAuth2 client secret.")
    webhook_secret: str | None = strawberry.field(
        default=None, description="onebooking: the secret webhooks to the website are signed with."
    )


@strawberry.input(description="A location joining the network: what a network file entry says, credentials as values.")
class RegisterLocationInput:
    network_id: str = strawberry.field(description="The location's slug, unique across the network, e.g. dublin.")
    name: str = strawberry.field(description="Display name.")
    kind: LocationKind = strawberry.field(description="What kind of system it runs.")
    base_url: str = strawberry.field(description="Where the gateway reaches its API (http or https).")
    timezone: str = strawberry.field(description="IANA time zone, e.g. Europe/Dublin.")
    currency: str = strawberry.field(description="ISO 4217 code of its prices, e.g. EUR.")
    town: str = strawberry.field(description="Town or city.")
    latitude: float = strawberry.field(description="Degrees north, -90 to 90.")
    longitude: float = strawberry.field(description="Degrees east, -180 to 180.")
    tax_rate: Decimal = strawberry.field(default=Decimal(0), description="Sales tax in its prices, percent.")
    commission_rate: Decimal = strawberry.field(default=Decimal(0), description="Network commission, percent.")
    is_hub: bool = strawberry.field(default=False, description="True for the network's hub.")
    opening_hours: JSON | None = strawberry.field(
        default=None, description='Open hours by day, e.g. {"monday": [9, 18]}; a day left out is closed.'
    )
    sync_settings: JSON | None = strawberry.field(
        default=None, description='Overrides of the network\'s sync settings, e.g. {"sync_frequency": "hourly"}.'
    )
    credentials: LocationCredentialsInput | None = strawberry.field(
        default=None, description="What the gateway presents to the location; stored encrypted."
    )

    def spec(self) -> dict[str, Any]:
        """The description in the resolvers' (and the network file's) own terms."""
        spec: dict[str, Any] = {
            "id": self.network_id,
            "name": self.name,
            "kind": str(self.kind.value),
            "base_url": self.base_url,
            "timezone": self.timezone,
            "currency": self.currency,
            "town": self.town,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "tax_rate": self.tax_rate,
            "commission_rate": self.commission_rate,
            "hub": self.is_hub,
            "opening_hours": self.opening_hours,
        }
        if self.sync_settings is not None:
            spec["sync_settings"] = self.sync_settings
        if self.credentials is not None:
            given = vars(self.credentials).items()
            spec["credentials"] = {name: value for name, value in given if value is not None}
        return spec


@strawberry.type(description="The answer to registerLocation.")
class RegisterLocationPayload:
    errors: list[MutationError] = strawberry.field(
        description="Expected failures: INVALID_INPUT naming the field, CONFLICT when the id is taken."
    )
    api_key: str | None = strawberry.field(
        description="The API key the location presents to the gateway (e.g. as X-API-Key). Shown only in this "
        "answer: the gateway keeps nothing it could be read back from. Null when refused."
    )
    location_key: strawberry.Private[str | None]

    @strawberry.field(description="The location as registered; null when the request was refused.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_key)


@strawberry.type
class LocationRegisterMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.MANAGE_LOCATIONS)],
        description="Adds a location to the network with its credentials; its connector starts at once and a "
        "first sync pulls its records. Answers the location's new inbound API key, once.",
    )
    async def register_location(
        self, info: Info, input: Annotated[RegisterLocationInput, strawberry.argument(description="The location.")]
    ) -> RegisterLocationPayload:
        try:
            registered = await registration.register_location(info.context, input.spec())
        except GatewayError as error:
            return RegisterLocationPayload(
                errors=[MutationError.from_gateway_error(error)], api_key=None, location_key=None
            )
        info.context.reset_loaders()
        return RegisterLocationPayload(errors=[], api_key=registered.api_key, location_key=registered.location_id)
