"""Rate limits per principal (DESIGN.md "Security"): one token bucket each, sized by the principal's role.

A request takes one token. A bucket holds at most `burst` tokens and refills at `per_minute`; a request
finding less than one token is refused with the seconds until there is one. The buckets live in the app's
services (opened in the lifespan), so every replica limits its own share: N replicas admit up to N times the
rate, which bounds what one principal can take from one process, the point of the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from identity.principal import Principal
from settings import RateLimit

# Past this many buckets, the full ones are dropped: a full bucket is what an absent one would be.
PRUNE_ABOVE = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    # Whole seconds until a refused request would be admitted (0 when allowed): what Retry-After says.
    retry_after: int = 0


ALLOWED = Verdict(allowed=True)


class TokenBuckets:
    """Token buckets keyed by principal. `clock` gives monotonic seconds; tests pass their own."""

    def __init__(self, limits: Mapping[str, RateLimit], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._buckets: dict[Principal, _Bucket] = {}

    def limit_for(self, principal: Principal) -> RateLimit | None:
        """The role's limit; None for a role the settings leave unlimited."""
        return self._limits.get(principal.role.value)

    def take(self, principal: Principal) -> Verdict:
        """Spend one of the principal's tokens, or say how long until one is there."""
        limit = self.limit_for(principal)
        if limit is None:
            return ALLOWED
        now = self._clock()
        rate = limit.per_minute / 60.0  # tokens per second
        bucket = self._buckets.get(principal)
        if bucket is None:
            if len(self._buckets) >= PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[principal] = _Bucket(tokens=float(limit.burst), at=now)
        else:
            # max(): a clock that steps back (a test's, or a bad host) never takes tokens away.
            bucket.tokens = min(float(limit.burst), bucket.tokens + max(0.0, now - bucket.at) * rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return ALLOWED
        return Verdict(allowed=False, retry_after=max(1, math.ceil((1.0 - bucket.tokens) / rate)))

    def _prune(self, now: float) -> None:
        for principal, bucket in list(self._buckets.items()):
            limit = self.limit_for(principal)
            if limit is None or bucket.tokens + (now - bucket.at) * limit.per_minute / 60.0 >= limit.burst:
                del self._buckets[principal]

    def __len__(self) -> int:
        return len(self._buckets)
