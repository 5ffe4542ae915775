"""What a connector raises. Resolvers and the write pipeline never see an httpx exception.

Two families: the location could not be asked (`LocationUnavailable`: refused, timed
out, 5xx, rate-limited past our patience, circuit open, unreadable answer), and the
location answered no (`UpstreamRejected` with a `RejectionCode`). The first is worth
retrying later through the outbox; the second is final and goes back to the caller.
"""

from __future__ import annotations

from enum import StrEnum


class RejectionCode(StrEnum):
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    # The write named the record's version the gateway last saw and the location has changed it since.
    STALE_VERSION = "STALE_VERSION"


class ConnectorError(Exception):
    def __init__(self, location_id: str, message: str) -> None:
        super().__init__(f"{location_id}: {message}")
        self.location_id = location_id
        self.message = message


class LocationUnavailable(ConnectorError):
    """The location could not be asked now; the same call may work later."""


class CircuitOpen(LocationUnavailable):
    """Too many recent failures: calls are refused locally until the cool-down ends."""


class UpstreamRejected(ConnectorError):
    """The location answered and refused: final, retrying the same call will not help."""

    def __init__(self, location_id: str, code: RejectionCode, message: str) -> None:
        super().__init__(location_id, message)
        self.code = code


class OperationNotSupported(ConnectorError):
    """This kind of location has no such operation (e.g. stock at a hotel PMS)."""
