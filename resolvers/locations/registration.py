"""Locations joining the network at run time, and rotating a location's credentials.

register_location takes the same description as a network file entry (sources/network/model.py), with the
outbound credentials as values; the gateway makes the location's inbound API key and answers it once (only
its hash is kept). The new location gets its connector at once: the heartbeat probes it from its next round,
the scheduler pulls it at its frequency, and a first pull starts now.

Free of GraphQL types: the admin mutation, the BookingX handshake and OneBooking's POST /api/websites all
call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from identity.secrets import new_api_key
from resolvers.context import Context
from resolvers.errors import ConflictError, InvalidInputError, NotFoundError
from sources.cache.models import Location
from sources.connectors.registry import config_for
from sources.network.credentials import INBOUND_KEY_PREFIX, Rotation
from sources.network.file import error_message
from sources.network.model import RegisteredLocation

# Input names as callers spell them (GraphQL camelCase) where the model's differ.
FIELD_NAMES = {
    "id": "networkId",
    "base_url": "baseUrl",
    "tax_rate": "taxRate",
    "commission_rate": "commissionRate",
    "hub": "isHub",
    "opening_hours": "openingHours",
    "sync_settings": "syncSettings",
    "api_key": "apiKey",
    "api_secret": "apiSecret",
    "client_id": "clientId",
    "client_secret": "clientSecret",
    "webhook_secret": "webhookSecret",
}


@dataclass(frozen=True)
class Registration:
    """A location that joined: its id and the inbound API key it presents to the gateway (shown only now)."""

    location_id: str
    api_key: str


def validated(spec: Mapping[str, Any]) -> RegisteredLocation:
    """The description checked as a network file entry is; INVALID_INPUT names the field at fault."""
    try:
        return RegisteredLocation.model_validate(dict(spec))
    except ValidationError as error:
        first = error.errors()[0]
        parts = [FIELD_NAMES.get(str(part), str(part)) for part in first["loc"] if not isinstance(part, int)]
        field = ".".join(parts) or None
        message = error_message(first)
        raise InvalidInputError(f"{field}: {message}" if field else message, field=field) from None


async def register_location(context: Context, spec: Mapping[str, Any]) -> Registration:
    location = validated(spec)
    services = context.services
    api_key = new_api_key(INBOUND_KEY_PREFIX)
    credentials = location.credentials.values()
    try:
        async with services.writer.transaction() as session:
            if await session.get(Location, location.id) is not None:
                # A retired location keeps its id (and its records): it comes back through the network file.
                raise ConflictError(f"there is a location {location.id} already", field=FIELD_NAMES["id"])
            session.add(Location(**location.row_values()))
            await session.flush()
            await services.credentials.add_generation(
                session, location.id, credentials=credentials, inbound_api_key=api_key
            )
    except IntegrityError:
        # Registered by a concurrent request (or another gateway process) between the check and the insert.
        raise ConflictError(f"there is a location {location.id} already", field=FIELD_NAMES["id"]) from None
    async with services.engine.connect() as connection:
        row = (await connection.execute(select(Location).where(Location.id == location.id))).one()
    settings = context.settings
    services.connectors.build(
        config_for(
            row,
            credentials,
            timeout_seconds=settings.connector_timeout_seconds,
            breaker_reset_seconds=settings.connector_breaker_reset_seconds,
        )
    )
    services.sync.request(location.id, "registered")
    return Registration(location.id, api_key)


async def rotate_location_credentials(context: Context, location_id: str, *, now: datetime | None = None) -> Rotation:
    """A new inbound API key (shown once); the previous one is accepted for the grace period, then refused."""
    services = context.services
    async with services.writer.transaction() as session:
        location = await session.get(Location, location_id)
        if location is None or location.retired_at is not None:
            raise NotFoundError(f"no location {location_id}", field="locationId")
        return await services.credentials.rotate_inbound(session, location_id, now=now)
