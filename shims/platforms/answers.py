"""How the platform webhooks and the Booksy admin endpoints answer a failure: `{"error": {"code", "message"}}`,
the code stable (part of the contract), the message for people."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shims.common.endpoint import ErrorShape
from shims.common.refusal import Refusal


class ErrorDetail(BaseModel):
    code: str = Field(max_length=64, description="Stable code, e.g. INVALID_SIGNATURE, EXPIRED, DUPLICATE_EVENT")
    message: str = Field(max_length=2000)


class ErrorBody(BaseModel):
    """The error body of every platform webhook and Booksy admin endpoint."""

    error: ErrorDetail


def _render(refusal: Refusal) -> dict[str, Any]:
    return {"error": {"code": refusal.code[:64], "message": refusal.message[:2000]}}


PLATFORM_ERRORS = ErrorShape(render=_render, model=ErrorBody, server_error_code="SERVER_ERROR")


def payload_too_large(limit: int) -> dict[str, Any]:
    """The 413 every route answers (shims.common.openapi.PayloadTooLarge), so the document holds for both limits."""
    return {
        "errors": [
            {
                "message": f"The request body is larger than {limit} bytes",
                "extensions": {"code": "PAYLOAD_TOO_LARGE", "limit": limit},
            }
        ]
    }
