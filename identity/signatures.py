"""HMAC signature schemes: how a sender signs a body (which bytes, hex or base64, a prefix, a signed timestamp).
Pure functions at the bottom layer, so the connectors that sign outbound webhooks and the receivers that verify
inbound ones (sync.webhooks.verify) share one implementation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass


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
