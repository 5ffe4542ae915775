"""The booking platform's gatekeeping: OAuth2 client-credentials tokens and per-client rate limits.

Kept apart from the routes because tests turn these knobs (revoke every token, count
how many were issued) to drive the connector through expiry and 429 paths.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens a second refill up to `burst`; a request spends one."""

    rate: float
    burst: int
    tokens: float = -1.0
    refilled_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def take(self, now: float) -> float:
        """Spend a token and return 0, or return how many seconds until one is available."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def retry_after_header(wait_seconds: float) -> str:
    """Seconds to wait, rounded up to a tenth: whole numbers when the wait is long, "0.2" when short.

    Fractional seconds are what busy platforms send so that clients with a small budget
    are not held a whole second for a 50 ms refill.
    """
    tenths = max(1, math.ceil(wait_seconds * 10))
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


class PlatformAuth:
    """Issued tokens and rate-limit buckets for one platform app (all in memory, like a real edge)."""

    def __init__(
        self, *, client_id: str, client_secret: str, token_ttl_seconds: int, rate_per_second: float, burst: int
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_ttl_seconds = token_ttl_seconds
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.tokens_issued = 0
        self.rate_limited = 0  # requests answered 429
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, monotonic expiry)
        self._buckets: dict[str, TokenBucket] = {}

    def issue(self, client_id: str, client_secret: str) -> str | None:
        """A new token for good credentials, None otherwise (compared in constant time)."""
        good_id = secrets.compare_digest(client_id.encode(), self.client_id.encode())
        good_secret = secrets.compare_digest(client_secret.encode(), self._client_secret.encode())
        if not (good_id and good_secret):
            return None
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (client_id, time.monotonic() + self.token_ttl_seconds)
        self.tokens_issued += 1
        return token

    def client_for(self, token: str) -> str | None:
        """The client a live token belongs to; expired tokens are forgotten."""
        entry = self._tokens.get(token)
        if entry is None:
            return None
        client_id, expires_at = entry
        if time.monotonic() >= expires_at:
            del self._tokens[token]
            return None
        return client_id

    def revoke_all(self) -> None:
        """Every issued token stops working at once (key rotation, or a test forcing a 401)."""
        self._tokens.clear()

    def wait_before(self, client_id: str) -> float:
        """0 when the client may proceed now, else the seconds until its bucket has a token."""
        bucket = self._buckets.get(client_id)
        if bucket is None:
            bucket = self._buckets[client_id] = TokenBucket(rate=self.rate_per_second, burst=self.burst)
        wait = bucket.take(time.monotonic())
        if wait > 0:
            self.rate_limited += 1
        return wait
