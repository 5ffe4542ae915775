"""POST /wp-json/bookingx-network/v1/handshake: a node proves who it is and gets a short-lived token.

Body (the spec's bkx_network_nodes columns): node_id, api_key, api_secret, version; an unknown node that may
join (bookingx_open_registration) also gives node_name, node_url, is_hub and location_data (timezone,
currency, town, latitude, longitude, tax_rate, commission_rate). 200 {"token", "token_type", "expires_in",
"node_id", "hub": {...}, "gateway_version", "supported_versions"} (+ "api_key" once, for a node that joined);
401 rest_not_logged_in for a wrong key or secret; 426 bkx_version_incompatible naming the supported range.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import location_principal
from resolvers.locations.handshake import VersionIncompatible, handshake
from shims.bookingx.wire import GATEWAY_VERSION, INVALID, PREFIX, RATE_LIMITED, TAG, WORDPRESS_ERRORS, NodeId, Strict
from shims.common.callers import context_for, spend
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal

INCOMPATIBLE = "bkx_version_incompatible"


class LocationData(Strict):
    """Where the node is and how it keeps money: what the network needs to know of a node joining it."""

    timezone: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    town: str = Field(min_length=1, max_length=120)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    commission_rate: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)


class HandshakeRequest(Strict):
    node_id: NodeId
    api_key: str = Field(min_length=1, max_length=255)
    api_secret: str = Field(min_length=1, max_length=255)
    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+(?:\.\d+){0,3}$")
    node_name: str | None = Field(default=None, min_length=1, max_length=200)
    node_url: str | None = Field(default=None, min_length=1, max_length=500)
    node_type: Literal["node", "hub", "peer"] = "node"
    is_hub: bool = False
    location_data: LocationData | None = None

    def registration(self) -> dict[str, Any] | None:
        """The description a joining node gives, as register_location takes it; None when it gave none."""
        if self.node_name is None or self.node_url is None or self.location_data is None:
            return None
        return {
            "name": self.node_name,
            "base_url": self.node_url,
            "hub": self.is_hub or self.node_type == "hub",
            **self.location_data.model_dump(),
        }


class Hub(BaseModel):
    name: str = Field(max_length=200)
    api_base: str = Field(max_length=100)


class HandshakeAnswer(BaseModel):
    token: str = Field(max_length=4096)
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(ge=60, le=86400)
    node_id: str = Field(max_length=64)
    hub: Hub
    gateway_version: str = Field(max_length=20)
    supported_versions: str = Field(max_length=200)
    api_key: str | None = Field(default=None, max_length=255, description="A node that joined now: its key")


async def answer_handshake(request: Request) -> JSONResponse:
    given = await parse_body(request, HandshakeRequest, code=INVALID)
    # Keyed by the node it claims to be, before anything is checked: guessing keys costs the guesser.
    spend(request, location_principal(given.node_id), code=RATE_LIMITED)
    context = context_for(request, location_principal(given.node_id))
    supported = context.settings.bookingx_supported_versions
    try:
        made = await handshake(
            context,
            node_id=given.node_id,
            api_key=given.api_key,
            api_secret=given.api_secret,
            version=given.version,
            registration=given.registration(),
        )
    except VersionIncompatible as error:
        raise Refusal(
            426,
            INCOMPATIBLE,
            f"version {error.version} is not supported: this network takes {error.supported}",
            details={"supported_versions": supported},
        ) from None
    answer = HandshakeAnswer(
        token=made.token,
        expires_in=made.expires_in,
        node_id=made.location_id,
        hub=Hub(name="Booking network gateway", api_base=PREFIX),
        gateway_version=GATEWAY_VERSION,
        supported_versions=supported,
        api_key=made.registered_api_key,
    )
    return JSONResponse(answer.model_dump(exclude_none=True))


def handshake_endpoint() -> Endpoint:
    return Endpoint(
        method="POST",
        path=f"{PREFIX}/handshake",
        handler=answer_handshake,
        errors=WORDPRESS_ERRORS,
        summary="A BookingX node proves who it is with its key and secret and gets a short-lived token",
        tag=TAG,
        request_model=HandshakeRequest,
        response_model=HandshakeAnswer,
        refusals={
            409: "bkx_conflict: a joining node's id is taken",
            426: f"{INCOMPATIBLE}: the node's version is outside the supported range",
        },
    )
