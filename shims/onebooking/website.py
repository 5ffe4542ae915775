"""The source website a request comes from, by its `X-API-Key`: a location of kind "onebooking"."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from shims.common.callers import services_of
from shims.common.refusal import Refusal
from shims.onebooking.errors import AUTH_FAILED, WEBSITE_NOT_FOUND
from sources.cache.models import Location

KIND = "onebooking"
KEY_HEADER = "x-api-key"


async def website_of(request: Request) -> Location:
    """The website whose inbound key the request carries (current, or in its grace after a rotation).

    401 AUTH_FAILED for no key or one no website holds; 404 WEBSITE_NOT_FOUND for the key of a website that
    was retired (it authenticated, but there is no website to sync to any more)."""
    api_key = request.headers.get(KEY_HEADER)
    if not api_key:
        raise Refusal(401, AUTH_FAILED, "Missing API key")
    services = services_of(request)
    # Keyed hashes compared in constant time; a rotated-out key is accepted during its grace.
    location_id = await services.credentials.verify(api_key[:512], kind=KIND, include_retired=True)
    if location_id is None:
        raise Refusal(401, AUTH_FAILED, "Invalid API key")
    async with AsyncSession(services.engine) as session:
        website = await session.get(Location, location_id)
    if website is None or website.retired_at is not None:
        raise Refusal(404, WEBSITE_NOT_FOUND, f"Website {location_id} is not registered (any more)")
    return website
