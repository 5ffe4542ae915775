"""The gateway's expected failures: one home, translated to GraphQL errors at the boundary."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    LOCATION_UNAVAILABLE = "LOCATION_UNAVAILABLE"
    CONFLICT = "CONFLICT"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    APPROVAL_REQUIRED = "APPROVAL_REQUIRED"
    SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    # The HTTP request itself, refused before any operation runs (schema/http_rules.py).
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    SUBSCRIPTION_TRANSPORT_REQUIRED = "SUBSCRIPTION_TRANSPORT_REQUIRED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class GatewayError(Exception):
    """An expected failure a client can act on; its code is part of the API contract."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(GatewayError):
    code = ErrorCode.NOT_FOUND


class InvalidInputError(GatewayError):
    code = ErrorCode.INVALID_INPUT


class InvalidIdError(GatewayError):
    code = ErrorCode.INVALID_ID


class InvalidCursorError(GatewayError):
    code = ErrorCode.INVALID_CURSOR


class SlotUnavailableError(GatewayError):
    code = ErrorCode.SLOT_UNAVAILABLE


class LocationUnavailableError(GatewayError):
    code = ErrorCode.LOCATION_UNAVAILABLE


class ConflictError(GatewayError):
    code = ErrorCode.CONFLICT


class InsufficientStockError(GatewayError):
    code = ErrorCode.INSUFFICIENT_STOCK


class IdempotencyKeyReusedError(GatewayError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class ApprovalRequiredError(GatewayError):
    code = ErrorCode.APPROVAL_REQUIRED


class SyncInProgressError(GatewayError):
    code = ErrorCode.SYNC_IN_PROGRESS


class ForbiddenError(GatewayError):
    """The caller is known but may not do this (their role, or a location they do not act for)."""

    code = ErrorCode.FORBIDDEN


class UnauthenticatedError(GatewayError):
    """The operation needs a credential and the caller presented none."""

    code = ErrorCode.UNAUTHENTICATED


class QueryTooComplexError(GatewayError):
    """The operation's estimated cost is over the limit; details: cost, limit."""

    code = ErrorCode.QUERY_TOO_COMPLEX


class RateLimitedError(GatewayError):
    """The principal spent its requests for now; details: retryAfter (seconds)."""

    code = ErrorCode.RATE_LIMITED


class ServiceUnavailableError(GatewayError):
    """The gateway's own cache database cannot be reached: nothing the client did, worth retrying later."""

    code = ErrorCode.SERVICE_UNAVAILABLE
