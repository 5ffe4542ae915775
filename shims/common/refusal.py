"""A shim's expected failures: one exception, rendered by the endpoint's spec in that spec's error shape."""

from __future__ import annotations

from typing import Any

from resolvers.errors import ErrorCode, GatewayError

# The HTTP status of each of the resolvers' error codes, when a shim passes one on.
STATUS_OF_CODE: dict[ErrorCode, int] = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.INVALID_ID: 400,
    ErrorCode.INVALID_CURSOR: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.SLOT_UNAVAILABLE: 409,
    ErrorCode.LOCATION_UNAVAILABLE: 503,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.APPROVAL_REQUIRED: 409,
    ErrorCode.SYNC_IN_PROGRESS: 409,
    ErrorCode.QUERY_TOO_COMPLEX: 400,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


class Refusal(Exception):
    """Answer `status` with the spec's error body for `code` and `message`; nothing was changed."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details or {}

    @classmethod
    def of(cls, error: GatewayError, code: str | None = None) -> Refusal:
        """A resolver's expected error, passed on with its HTTP status (and the spec's own code, if it has one)."""
        details = {name: value for name, value in error.details.items() if isinstance(value, (str, int, float))}
        headers = None
        if error.code is ErrorCode.RATE_LIMITED and "retryAfter" in details:
            headers = {"Retry-After": str(details["retryAfter"])}
        return cls(
            STATUS_OF_CODE.get(error.code, 500),
            code or error.code.value,
            error.message,
            headers=headers,
            details=details,
        )
