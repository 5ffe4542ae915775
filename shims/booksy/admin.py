"""What every /api/admin/booksy/ endpoint shares: the caller (a bearer JWT whose role grants view_sync and the
endpoint's own permissions: network and hub admins for every Booksy location, a location manager for theirs;
customers, staff and franchisees never), which Booksy
locations it is about (`?location=`, else every platform location the caller sees), and pages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from resolvers.context import Context
from resolvers.errors import InvalidInputError
from resolvers.listing import ListResult
from resolvers.locations.platforms import platform_locations
from resolvers.pagination import PageArgs
from resolvers.permissions import Permission, require
from shims.common.callers import bearer_principal, context_for, spend
from shims.common.endpoint import Endpoint, Handler
from shims.platforms.answers import PLATFORM_ERRORS
from sources.network.model import SLUG

ADMIN_PREFIX = "/api/admin/booksy"
CURSOR_MAX = 1000  # resolvers.bounds.CURSOR_LENGTH
PAGE_MAX = 100
ADMIN_REFUSALS = {
    403: "FORBIDDEN: the token's role may not do this (customers and staff never may)",
    404: "NOT_FOUND: no Booksy (platform) location of that id that the caller may see",
}


class LocationQuery(BaseModel):
    location: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=SLUG,
        description="A Booksy location's id; left out, every Booksy location the caller may see",
    )


class PageQuery(LocationQuery):
    first: int = Field(default=20, ge=1, le=PAGE_MAX, description="Page size")
    after: str | None = Field(default=None, min_length=1, max_length=CURSOR_MAX, description="next_cursor of a page")


class PageInfo(BaseModel):
    next_cursor: str | None = Field(default=None, max_length=CURSOR_MAX, description="Pass as `after` for more")
    has_more: bool
    total: int = Field(ge=0)


async def admin_context(request: Request, *permissions: Permission) -> Context:
    """The resolvers' context for the bearer token's principal, once it holds every one of `permissions`."""
    principal = await bearer_principal(request)
    spend(request, principal)
    settings = request.app.state.settings
    for permission in permissions:
        require(principal, permission, settings)
    return context_for(request, principal)


async def one_location(context: Context, location: str | None) -> str:
    """The one Booksy location meant: the one named, or the only one the caller sees."""
    found = await platform_locations(context, location)
    if len(found) != 1:
        raise InvalidInputError(
            f"name the Booksy location with `location`: {', '.join(found) or 'none'} are visible", field="location"
        )
    return found[0]


def page_args(query: PageQuery) -> PageArgs:
    return PageArgs(first=query.first, after=query.after)


async def page_info(result: ListResult) -> PageInfo:
    page = result.page
    return PageInfo(
        next_cursor=page.cursors[-1] if page.cursors and page.has_next_page else None,
        has_more=page.has_next_page,
        total=await result.total_count(),
    )


def admin_endpoint(
    method: str,
    path: str,
    handler: Handler,
    summary: str,
    *,
    refusals: dict[int, str] | None = None,
    **described: Any,
) -> Endpoint:
    return Endpoint(
        method=method,
        path=f"{ADMIN_PREFIX}/{path}",
        handler=handler,
        errors=PLATFORM_ERRORS,
        summary=summary,
        tag="booksy",
        refusals={**ADMIN_REFUSALS, **(refusals or {})},
        security=["bearer"],
        **described,
    )
