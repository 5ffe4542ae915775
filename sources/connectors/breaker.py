"""Circuit breaker for one location: stop calling a location that keeps failing, probe it now and then.

A failure is a call that ended in `LocationUnavailable` after its retries; an answer,
even a 4xx, is a success (the location is there and talking).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures; open → half-open once
    `reset_seconds` have passed, letting exactly one probe call through; the probe's
    success closes it, its failure re-opens it for another `reset_seconds`.

    Not thread-safe: one instance belongs to one event loop (asyncio runs the state
    changes between awaits, so no lock is needed).
    """

    def __init__(
        self, failure_threshold: int, reset_seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """As a caller would see it now: an open breaker whose cool-down ended reads half-open."""
        if self._state is BreakerState.OPEN and self.seconds_until_probe() <= 0:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def seconds_until_probe(self) -> float:
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.reset_seconds - self._clock())

    def try_acquire(self) -> bool:
        """May a call go out now? True obliges the caller to report exactly one of
        `record_success`, `record_failure` or `release` when the call ends."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._probe_in_flight:
            return False
        self._state = BreakerState.HALF_OPEN
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        self._consecutive_failures += 1
        self._probe_in_flight = False
        # A failure of a call started before the breaker opened leaves the cool-down as it is.
        tripped = self._state is BreakerState.CLOSED and self._consecutive_failures >= self.failure_threshold
        if tripped or self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()

    def release(self) -> None:
        """The call ended without a verdict (cancelled): a probe slot is handed back so the
        next call can probe instead of the breaker staying half-open forever."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
