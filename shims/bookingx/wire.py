"""What every BookingX network endpoint shares: the path prefix, WordPress REST's error body, the node as the
caller (the token its handshake answered), and bounded field types for the models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from starlette.requests import Request

from identity.principal import Principal, Role
from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import ErrorCode
from shims.common.callers import bearer_principal, context_for, spend
from shims.common.endpoint import Endpoint, ErrorShape, Handler
from shims.common.refusal import Refusal

PREFIX = "/wp-json/bookingx-network/v1"
TAG = "bookingx"
NODE_SECURITY = ("bearer",)
GATEWAY_VERSION = "0.1.0"  # the release, as pyproject.toml names it

# WordPress's own codes where it has one; the gateway's others keep their meaning under a bkx_ prefix.
_WORDPRESS_CODES = {
    ErrorCode.INVALID_INPUT: "rest_invalid_param",
    ErrorCode.INVALID_ID: "rest_invalid_param",
    ErrorCode.INVALID_CURSOR: "rest_invalid_param",
    ErrorCode.NOT_FOUND: "rest_not_found",
    ErrorCode.FORBIDDEN: "rest_forbidden",
    ErrorCode.UNAUTHENTICATED: "rest_not_logged_in",
    ErrorCode.INTERNAL_SERVER_ERROR: "internal_server_error",
}
CODES = {code.value: _WORDPRESS_CODES.get(code, f"bkx_{code.value.lower()}") for code in ErrorCode}
INVALID = "rest_invalid_param"
INVALID_JSON = "rest_invalid_json"
UNAUTHORIZED = "rest_not_logged_in"
FORBIDDEN = "rest_forbidden"
RATE_LIMITED = "bkx_rate_limited"
FORBIDDEN_DOC = "rest_forbidden: the token is not a node's, or the body names another node"


class WordPressErrorData(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: int = Field(ge=400, le=599)


class WordPressError(BaseModel):
    """WordPress REST's error body: {"code", "message", "data": {"status", ...}}."""

    code: str
    message: str
    data: WordPressErrorData


def _render(refusal: Refusal) -> dict[str, Any]:
    return {"code": refusal.code, "message": refusal.message, "data": {**refusal.details, "status": refusal.status}}


WORDPRESS_ERRORS = ErrorShape(
    render=_render, model=WordPressError, server_error_code="internal_server_error", codes=CODES
)


def _in_window(value: datetime) -> datetime:
    if not bounds.EARLIEST <= value < bounds.LATEST:
        raise ValueError(f"must be from {bounds.EARLIEST.year} up to {bounds.LATEST.year}")
    return value


def _day_in_window(value: date) -> date:
    if not bounds.EARLIEST.date() <= value < bounds.LATEST.date():
        raise ValueError(f"must be from {bounds.EARLIEST.year} up to {bounds.LATEST.year}")
    return value


# Timezone-aware, between 2000 and 2100 (resolvers.bounds), the same on SQLite and PostgreSQL.
Moment = Annotated[AwareDatetime, AfterValidator(_in_window)]
Day = Annotated[date, AfterValidator(_day_in_window)]
LocalId = Annotated[str, Field(min_length=1, max_length=64)]
NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
Version = Annotated[int, Field(ge=0, le=2_147_483_647)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


async def node_caller(request: Request) -> Principal:
    """The node whose handshake token the request carries; 401 without one, 403 for anyone else's token."""
    principal = await bearer_principal(request, code=UNAUTHORIZED)
    if principal.role is not Role.LOCATION or len(principal.location_ids) != 1:
        raise Refusal(403, FORBIDDEN, "this endpoint is for BookingX nodes: send the token of your handshake")
    spend(request, principal, code=RATE_LIMITED)
    return principal


def node_id_of(principal: Principal) -> str:
    (location_id,) = principal.location_ids
    return location_id


def require_same_node(principal: Principal, named: str | None) -> None:
    """A body that names a node must name the caller's own: a node's token acts for that node only."""
    if named is not None and named != node_id_of(principal):
        raise Refusal(403, FORBIDDEN, f"this token acts for node {node_id_of(principal)}, not {named}")


async def node_context(request: Request) -> tuple[Principal, Context]:
    principal = await node_caller(request)
    return principal, context_for(request, principal)


def node_endpoint(
    method: str, path: str, handler: Handler, summary: str, *, refusals: dict[int, str] | None = None, **described: Any
) -> Endpoint:
    """An endpoint a node calls with its handshake token (`path` under PREFIX): WordPress's error body, and 403
    for a token that is not a node's or a body that names another node."""
    return Endpoint(
        method=method,
        path=f"{PREFIX}/{path}",
        handler=handler,
        errors=WORDPRESS_ERRORS,
        summary=summary,
        tag=TAG,
        refusals={403: FORBIDDEN_DOC, **(refusals or {})},
        security=NODE_SECURITY,
        **described,
    )
