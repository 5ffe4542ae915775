"""OneBooking's error body, `{"success": false, "error": "<what>", "code": "<CODE>"}`, for every endpoint of the
spec, and the spec's own names for the resolvers' codes (the others pass through under their own names)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from shims.common.endpoint import ErrorShape
from shims.common.refusal import Refusal

# The spec's codes, and the ones its dashboard needs besides.
AUTH_FAILED = "AUTH_FAILED"
INVALID_PAYLOAD = "INVALID_PAYLOAD"
DUPLICATE_BOOKING = "DUPLICATE_BOOKING"
WEBSITE_NOT_FOUND = "WEBSITE_NOT_FOUND"
SERVER_ERROR = "SERVER_ERROR"
RATE_LIMITED = "RATE_LIMITED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"


class OneBookingError(BaseModel):
    """The spec's error body."""

    success: Literal[False] = False
    error: str = Field(max_length=2000)
    code: str = Field(max_length=64)


def _render(refusal: Refusal) -> dict[str, Any]:
    return {"success": False, "error": refusal.message, "code": refusal.code}


ONEBOOKING_ERRORS = ErrorShape(
    render=_render,
    model=OneBookingError,
    server_error_code=SERVER_ERROR,
    codes={
        "UNAUTHENTICATED": AUTH_FAILED,
        "INVALID_INPUT": INVALID_PAYLOAD,
        "INVALID_ID": INVALID_PAYLOAD,
        "INTERNAL_SERVER_ERROR": SERVER_ERROR,
    },
)
