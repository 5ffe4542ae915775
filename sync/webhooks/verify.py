"""Webhook signatures: HMAC-SHA256 over the exact bytes received, compared in constant time, and where the
sender signs a timestamp, a window around the receiver's clock so a captured delivery cannot be replayed
later. Each sender's scheme (which header, what is signed, hex or base64) is described by a `Scheme`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).digest()


def _timestamp_dot_body(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


@dataclass(frozen=True, slots=True)
class Scheme:
    """How one sender signs: `signature = prefix + encode(HMAC(secret, signed(timestamp, body)))`."""

    prefix: str = ""
    encoding: str = "hex"  # hex | base64
    # Whether a timestamp is signed, and how it is joined to the body (OneBooking's `${timestamp}.${payload}`).
    timestamped: bool = False
    signed: Callable[[str, bytes], bytes] = _timestamp_dot_body

    def encode(self, digest: bytes) -> str:
        text = digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()
        return self.prefix + text

    def sign(self, secret: str | bytes, body: bytes, timestamp: str | None = None) -> str:
        message = self.signed(timestamp or "", body) if self.timestamped else body
        return self.encode(hmac_sha256(secret, message))


# OneBooking's webhooks: X-Webhook-Signature "sha256=<hex>" over "<X-Webhook-Timestamp>.<body>".
ONEBOOKING = Scheme(prefix="sha256=", timestamped=True)
# A plain hex HMAC of the body (BookingX network webhooks, Booksy).
BODY_HEX = Scheme()


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
