"""When to try a call to a location again, and how long to wait first.

Hand-written rather than tenacity: the wait depends on the failed answer (Retry-After
overrides the backoff, and a too-long Retry-After ends the retries with its own message),
which in tenacity means custom wait, stop and error callbacks that end up longer than
this loop's few lines.
"""

from __future__ import annotations

import random as _random
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
IDEMPOTENCY_HEADER = "idempotency-key"


def is_idempotent(method: str, headers: Mapping[str, str] | None) -> bool:
    """Safe to send twice: the method says so, or the location dedupes by our key."""
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == IDEMPOTENCY_HEADER for name in headers or {})


def backoff_delay(
    retry: int, base_seconds: float, max_seconds: float, random: Callable[[], float] = _random.random
) -> float:
    """Seconds before retry number `retry` (0 for the first): full jitter over an exponential cap.

    Full jitter (uniform in [0, cap]) spreads the retries of many gateways that failed at
    the same moment, so a recovering location is not hit by them all at once.
    """
    cap = min(max_seconds, base_seconds * 2.0**retry)
    return max(0.0, cap * random())


DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP-date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    # RFC 9110 says whole seconds; platforms also send fractions ("0.2"), which we honour as given.
    if DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one is read as such
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
