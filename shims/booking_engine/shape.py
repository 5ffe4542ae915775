"""The booking engine's one answer shape, for every endpoint of the package:

    success  {"success": true, "data": {...}}
    failure  {"success": false, "error": {"code": "...", "message": "...", "details": {...}}}

and what every endpoint does first: the caller as a principal (a bearer JWT the gateway issued; anonymous
where the endpoint allows it), one of the caller's requests spent, and the hotel named in the path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.principal import Principal
from resolvers.context import Context
from resolvers.errors import NotFoundError
from resolvers.hotels.stays import require_hotel
from resolvers.permissions import Permission, require
from shims.common.callers import bearer_principal, context_for, spend
from shims.common.endpoint import ErrorShape
from shims.common.refusal import Refusal

PREFIX = "/api/booking-engine"
TAG = "booking-engine"
KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
KEY_SCHEMA: dict[str, Any] = {"type": "string", "pattern": KEY_PATTERN, "minLength": 1, "maxLength": 64}
TEXT_MAX = 200


class ErrorBody(BaseModel):
    code: str = Field(max_length=64)
    message: str = Field(max_length=2000)
    details: dict[str, str | int | float] = Field(default_factory=dict, max_length=20)


class BookingEngineError(BaseModel):
    """Every failure of the booking engine API."""

    success: Literal[False] = False
    error: ErrorBody


DataT = TypeVar("DataT", bound=BaseModel)


class Success(BaseModel, Generic[DataT]):
    """Every success of the booking engine API: the endpoint's data under `data`."""

    success: Literal[True] = True
    data: DataT


def _render(refusal: Refusal) -> dict[str, Any]:
    error: dict[str, Any] = {"code": refusal.code, "message": refusal.message}
    if refusal.details:
        error["details"] = refusal.details
    return {"success": False, "error": error}


ERRORS = ErrorShape(
    render=_render,
    model=BookingEngineError,
    codes={"INVALID_INPUT": "VALIDATION_ERROR", "INVALID_ID": "VALIDATION_ERROR", "UNAUTHENTICATED": "UNAUTHORIZED"},
)
# The resolvers' NOT_FOUND said in the terms of what the endpoint looks for.
HOTEL_ERRORS = replace(ERRORS, codes={**ERRORS.codes, "NOT_FOUND": "HOTEL_NOT_FOUND"})
BOOKING_ERRORS = replace(ERRORS, codes={**ERRORS.codes, "NOT_FOUND": "BOOKING_NOT_FOUND"})
USER_ERRORS = replace(ERRORS, codes={**ERRORS.codes, "NOT_FOUND": "USER_NOT_FOUND"})
INVALID = "VALIDATION_ERROR"


def answer(data: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data.model_dump(mode="json")}, status_code=status)


async def caller(request: Request, permission: Permission, *, anonymous: bool = False) -> Context:
    """The request's context as its principal, holding `permission`, one of its requests spent.

    With `anonymous`, a request without a token is the public (allowed when the gateway's public availability
    is on, as for GraphQL), its requests counted per client address."""
    principal = await bearer_principal(request, required=not anonymous, code="UNAUTHORIZED")
    settings = request.app.state.settings
    if principal.is_anonymous:
        # Told to authenticate before being counted: a refused anonymous caller spends nothing.
        require(principal, permission, settings)
        client = request.client.host if request.client else "unknown"
        principal = Principal(subject=f"anonymous:{client}", role=principal.role)
    spend(request, principal)
    require(principal, permission, settings)
    return context_for(request, principal)


async def hotel_of(context: Context, hotel_id: str) -> Any:
    """The hotel's location row; 404 HOTEL_NOT_FOUND for a location that is not a hotel with rooms."""
    try:
        return await require_hotel(context, hotel_id)
    except NotFoundError as error:
        raise Refusal(404, "HOTEL_NOT_FOUND", error.message) from None
