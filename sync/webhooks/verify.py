"""Webhook signatures: HMAC-SHA256 over the exact bytes received, compared in constant time, and where the
sender signs a timestamp, a window around the receiver's clock so a captured delivery cannot be replayed
later. Each sender's scheme (which header, what is signed, hex or base64) is described by a `Scheme`."""

from __future__ import annotations

import hmac
from datetime import datetime
from enum import StrEnum

from identity.signatures import BODY_HEX, ONEBOOKING, Scheme, hmac_sha256

__all__ = [
    "BODY_HEX",
    "DEFAULT_WINDOW_SECONDS",
    "ONEBOOKING",
    "Rejection",
    "Scheme",
    "SignatureRejected",
    "hmac_sha256",
    "verify",
]

DEFAULT_WINDOW_SECONDS = 300


class Rejection(StrEnum):
    MISSING_SIGNATURE = "MISSING_SIGNATURE"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    MISSING_TIMESTAMP = "MISSING_TIMESTAMP"
    BAD_TIMESTAMP = "BAD_TIMESTAMP"
    EXPIRED = "EXPIRED"


class SignatureRejected(Exception):
    """The delivery is not from whom it claims, or is too old or too new to trust: nothing of it is applied."""

    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def verify(
    scheme: Scheme,
    secrets: list[str],
    body: bytes,
    signature: str | None,
    *,
    timestamp: str | None = None,
    now: datetime | None = None,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> None:
    """Raises SignatureRejected unless one of `secrets` (the current one and any in its grace period) signed
    `body` (and `timestamp`, inside the window around `now`)."""
    if not signature:
        raise SignatureRejected(Rejection.MISSING_SIGNATURE, "the delivery is not signed")
    if scheme.timestamped:
        if not timestamp:
            raise SignatureRejected(Rejection.MISSING_TIMESTAMP, "the delivery's timestamp is missing")
        try:
            sent = int(timestamp)
        except ValueError:
            raise SignatureRejected(Rejection.BAD_TIMESTAMP, "the timestamp is not Unix seconds") from None
        if now is None:
            raise ValueError("a timestamped scheme needs the receiver's clock")
        if abs(now.timestamp() - sent) > window_seconds:
            raise SignatureRejected(
                Rejection.EXPIRED, f"the timestamp is more than {window_seconds} s from the receiver's clock"
            )
    given = signature.strip().encode()
    # Every secret is tried, whatever matched, so the time taken does not say which one did.
    matched = False
    for secret in secrets:
        expected = scheme.sign(secret, body, timestamp).encode()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise SignatureRejected(Rejection.BAD_SIGNATURE, "the signature does not match the body")
