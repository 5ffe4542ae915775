"""A BookingX node's handshake: its key and secret prove it is the node it names, and it gets a short-lived token
that acts for that one location only.

The node presents the inbound API key the gateway gave it (stored only as a keyed hash) and the api_secret the
two share (stored encrypted: the gateway signs its own calls to the node with it). Both are checked, whichever
fails, and in constant time, so the answer and its timing say nothing about which one was wrong. An unknown
node joins the network here when `bookingx_open_registration` allows it, through the same register_location as
the GraphQL registerLocation; its new inbound key is answered once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.principal import Role, location_principal
from resolvers.context import Context
from resolvers.errors import InvalidInputError, UnauthenticatedError
from resolvers.locations.registration import register_location
from sources.cache.models import Location
from sources.cache.types import utc_now

KIND = "bookingx"
_COMPARISON = re.compile(r"^(>=|<=|==|>|<)?\s*(\d+(?:\.\d+){0,3})$")
_VERSION = re.compile(r"^\d+(?:\.\d+){0,3}$")
# Compared with when the node has no secret stored, so a missing node costs what a wrong secret does.
_NO_SECRET = "\x00" * 32


class VersionIncompatible(Exception):
    def __init__(self, version: str, supported: str) -> None:
        super().__init__(f"version {version} is not in the supported range {supported}")
        self.version = version
        self.supported = supported


def parse_version(text: str) -> tuple[int, ...]:
    """`1.2.3` as (1, 2, 3, 0): up to four numeric parts, missing ones zero, so 1.2 == 1.2.0."""
    if not _VERSION.match(text):
        raise InvalidInputError(f"version {text!r} is not dotted numbers like 1.4.2", field="version")
    parts = tuple(int(part) for part in text.split("."))
    return parts + (0,) * (4 - len(parts))


def in_range(version: str, supported: str) -> bool:
    """Whether `version` meets every comparison of `supported` (">=1.0,<2.0"; a bare number means ==)."""
    given = parse_version(version)
    for clause in filter(None, (part.strip() for part in supported.split(","))):
        match = _COMPARISON.match(clause)
        if match is None:
            raise ValueError(f"bookingx_supported_versions: {clause!r} is not a comparison like >=1.0")
        operator, bound = match.group(1) or "==", parse_version(match.group(2))
        holds = {
            ">=": given >= bound,
            ">": given > bound,
            "<=": given <= bound,
            "<": given < bound,
            "==": given == bound,
        }[operator]
        if not holds:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Handshake:
    location_id: str
    token: str
    expires_in: int
    registered_api_key: str | None = None  # a node that joined now: its inbound key, shown this once


async def _secret_matches(context: Context, node_id: str, api_secret: str) -> bool:
    # Every secret still in force (the current one and any in its rotation grace), each compared in constant time.
    in_force = await context.services.credentials.in_force(node_id, "api_secret")
    matched = False
    for expected in in_force or [_NO_SECRET]:
        matched |= hmac.compare_digest(expected.encode(), api_secret.encode())
    return matched


async def _is_location(context: Context, node_id: str) -> bool:
    async with AsyncSession(context.engine) as session:
        return await session.get(Location, node_id) is not None


async def handshake(
    context: Context,
    *,
    node_id: str,
    api_key: str,
    api_secret: str,
    version: str,
    registration: Mapping[str, Any] | None = None,
) -> Handshake:
    """A token for the node, or UNAUTHENTICATED (wrong key or secret, or unknown and not allowed to join);
    VersionIncompatible when its version is outside the supported range."""
    settings = context.settings
    parse_version(version)
    services = context.services
    # Both checked, whatever the first one says.
    key_holder = await services.credentials.verify(api_key, kind=KIND)
    key_ok = hmac.compare_digest((key_holder or "").encode(), node_id.encode())
    secret_ok = await _secret_matches(context, node_id, api_secret)
    registered_key: str | None = None
    if not (key_ok and secret_ok):
        if (
            key_holder is not None
            or await _is_location(context, node_id)
            or registration is None
            or not settings.bookingx_open_registration
        ):
            raise UnauthenticatedError("unknown node, or wrong api_key or api_secret")
        if not in_range(version, settings.bookingx_supported_versions):
            raise VersionIncompatible(version, settings.bookingx_supported_versions)
        spec = {
            **registration,
            "id": node_id,
            "kind": KIND,
            "credentials": {"api_key": api_key, "api_secret": api_secret},
        }
        registered_key = (await register_location(context, spec)).api_key
    elif not in_range(version, settings.bookingx_supported_versions):
        raise VersionIncompatible(version, settings.bookingx_supported_versions)
    async with services.writer.transaction() as session:
        await session.execute(
            update(Location).where(Location.id == node_id).values(version=version[:20], last_heartbeat_at=utc_now())
        )
    principal = location_principal(node_id)
    ttl = settings.bookingx_token_ttl_seconds
    token = await services.authenticator.issue(
        Role.LOCATION, subject=principal.subject, locations=[node_id], ttl_seconds=ttl
    )
    return Handshake(node_id, token, ttl, registered_key)
