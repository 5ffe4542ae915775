"""How a BookingX node lets a caller in: API key + secret prove who you are, a short-lived token does the rest.

The handshake signature is hex HMAC-SHA256(api_secret, f"{timestamp}.{api_key}") over a
Unix timestamp in whole seconds; a timestamp more than five minutes off is refused so a
captured handshake cannot be replayed later. Tokens are opaque random strings held in
memory: a restarted node forgets them, which is exactly what makes callers re-handshake.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

HANDSHAKE_WINDOW_SECONDS = 300


class HandshakeRefused(Exception):
    """The caller is not who it says it is (wrong key, bad signature, stale timestamp, other node)."""


def handshake_signature(api_secret: str, timestamp: int, api_key: str) -> str:
    return hmac.new(api_secret.encode(), f"{timestamp}.{api_key}".encode(), hashlib.sha256).hexdigest()


def verify_handshake(*, node_id: str, api_key: str, api_secret: str, claimed: dict[str, Any], now: float) -> None:
    """Raise HandshakeRefused unless `claimed` (already shape-checked) is a fresh, correctly signed handshake."""
    if claimed["node_id"] != node_id:
        raise HandshakeRefused(f"this is node {node_id}, not {claimed['node_id']}")
    timestamp: int = claimed["timestamp"]
    if abs(now - timestamp) > HANDSHAKE_WINDOW_SECONDS:
        raise HandshakeRefused(f"timestamp is more than {HANDSHAKE_WINDOW_SECONDS} s away from the node's clock")
    # Compare both in constant time, so neither the key nor the signature leaks through timing.
    key_ok = hmac.compare_digest(str(claimed["api_key"]).encode(), api_key.encode())
    expected = handshake_signature(api_secret, timestamp, api_key)
    signature_ok = hmac.compare_digest(str(claimed["signature"]).encode(), expected.encode())
    if not (key_ok and signature_ok):
        raise HandshakeRefused("unknown api key or bad signature")


class TokenRegistry:
    """Bearer tokens this node has issued and when each stops working."""

    def __init__(self, ttl_seconds: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.issued = 0  # handshakes answered, so tests can see a token being reused
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        now = self._clock()
        self._expiry = {token: until for token, until in self._expiry.items() if until > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self.ttl_seconds
        self.issued += 1
        return token

    def valid(self, token: str | None) -> bool:
        if token is None:
            return False
        until = self._expiry.get(token)
        return until is not None and until > self._clock()

    def expire_all(self) -> None:
        """Every token issued so far stops working now (as after a key rotation or a node restart)."""
        self._expiry.clear()
