"""HTTP to one location: timeouts, retries, circuit breaker, in-flight read dedupe.

Order of the layers, outermost first: single-flight (identical concurrent GETs become
one call) → circuit breaker (one verdict per call) → retries (attempts within a call)
→ httpx. So ten callers sharing a GET that fails count as one failure, and the breaker
judges whole calls, never single attempts.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import httpx

from sources.connectors.base import ConnectorConfig
from sources.connectors.breaker import CircuitBreaker
from sources.connectors.errors import CircuitOpen, LocationUnavailable
from sources.connectors.resilience import IDEMPOTENT_METHODS, backoff_delay, is_idempotent, retry_after_seconds
from sources.connectors.singleflight import SingleFlight

__all__ = ["IDEMPOTENT_METHODS", "LocationHttpClient"]

RETRYABLE_STATUSES = frozenset({429}) | frozenset(range(500, 600))

_TIMEOUT_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connecting",
    httpx.ReadTimeout: "waiting for the answer",
    httpx.WriteTimeout: "sending the request",
    httpx.PoolTimeout: "waiting for a free connection",
}


class _AttemptFailed(Exception):
    """One attempt went wrong; `retryable` says whether another attempt could go better."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class LocationHttpClient:
    """One location's HTTP client.

    `request` returns the response for any status below 500 except 429 (the connector
    maps 4xx bodies to `UpstreamRejected`); connection errors, timeouts, 5xx and 429
    past the retry budget raise `LocationUnavailable` (`CircuitOpen` while the breaker
    is open). A POST counts as idempotent only when it carries an ``Idempotency-Key``.

    `on_outcome(ok)` is called once per call that reached the network (a shared GET is
    one call): True when the location answered, False when it ended in
    `LocationUnavailable`. Calls refused by the open breaker do not report: they
    learned nothing new about the location. `clock` drives the breaker and `sleep` the
    waits between attempts; tests replace both.
    """

    def __init__(
        self,
        config: ConnectorConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_outcome: Callable[[bool], None] | None = None,
    ) -> None:
        self.config = config
        self._client = httpx.AsyncClient(
            base_url=config.base_url, timeout=httpx.Timeout(config.timeout_seconds), transport=transport
        )
        self._breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_reset_seconds, clock=clock)
        self._reads: SingleFlight[httpx.Response] = SingleFlight()
        self._sleep = sleep
        self._on_outcome = on_outcome

    @property
    def breaker_state(self) -> str:
        """ "closed", "open" or "half_open" (cool-down over: the next call is a probe)."""
        return self._breaker.state.value

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        method = method.upper()
        if method == "GET" and json is None:
            key = _read_key(path, params, headers)
            return await self._reads.run(key, lambda: self._guarded_call(method, path, None, params, headers))
        return await self._guarded_call(method, path, json, params, headers)

    async def get_json(
        self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        """GET and decode; identical GETs already in flight share one request."""
        response = await self.request("GET", path, params=params, headers=headers)
        if response.status_code >= 400:
            raise LocationUnavailable(self.config.location_id, f"GET {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            raise LocationUnavailable(
                self.config.location_id, f"GET {path}: answered with something that is not JSON"
            ) from error

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _guarded_call(
        self, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        if not self._breaker.try_acquire():
            raise CircuitOpen(self.config.location_id, f"{method} {path}: {self._open_reason()}")
        verdict: bool | None = None
        try:
            response = await self._attempts(method, path, json, params, headers)
            verdict = True
            return response
        except LocationUnavailable:
            verdict = False
            raise
        finally:
            # No verdict means cancelled (or a bug below): hand a probe slot back, report nothing.
            if verdict is None:
                self._breaker.release()
            else:
                if verdict:
                    self._breaker.record_success()
                else:
                    self._breaker.record_failure()
                if self._on_outcome is not None:
                    self._on_outcome(verdict)

    async def _attempts(
        self, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        max_attempts = max(1, self.config.max_attempts) if is_idempotent(method, headers) else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(method, path, json, params, headers)
            except _AttemptFailed as failure:
                if not failure.retryable or attempt >= max_attempts:
                    tail = f" (gave up after {attempt} attempts)" if attempt > 1 else ""
                    raise LocationUnavailable(
                        self.config.location_id, f"{method} {path}: {failure.reason}{tail}"
                    ) from failure.__cause__
                if failure.retry_after is None:
                    delay = backoff_delay(
                        attempt - 1, self.config.backoff_base_seconds, self.config.backoff_max_seconds
                    )
                elif failure.retry_after > self.config.retry_after_max_seconds:
                    raise LocationUnavailable(
                        self.config.location_id,
                        f"{method} {path}: {failure.reason}, asked to retry after {failure.retry_after:g} s, "
                        f"longer than the {self.config.retry_after_max_seconds:g} s we wait",
                    ) from None
                else:
                    delay = failure.retry_after
            await self._sleep(delay)

    async def _attempt(
        self, method: str, path: str, json: Any, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as error:
            phase = _TIMEOUT_PHASES.get(type(error), "")
            reason = f"timed out after {self.config.timeout_seconds} s" + (f" {phase}" if phase else "")
            raise _AttemptFailed(reason, retryable=True) from error
        except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
            raise _AttemptFailed(_network_reason(error), retryable=True) from error
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as error:
            # Bad URL, unsupported scheme, broken encoding, redirect loop: trying again changes nothing.
            raise _AttemptFailed(f"request failed: {error}", retryable=False) from error
        if response.status_code in RETRYABLE_STATUSES:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
            raise _AttemptFailed(f"HTTP {response.status_code}", retryable=True, retry_after=retry_after)
        return response

    def _open_reason(self) -> str:
        wait = self._breaker.seconds_until_probe()
        if wait > 0:
            return (
                f"circuit open after {self._breaker.consecutive_failures} consecutive failures, "
                f"next probe in {wait:.1f} s"
            )
        return "circuit half-open, a probe call is already in flight"


def _network_reason(error: httpx.HTTPError) -> str:
    """Name the socket-level cause (refused, unknown host) that httpx hides behind a generic text."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"could not resolve host ({cause})"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the location"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, httpx.ConnectError):
        return f"could not connect ({error})"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"the location broke off the answer ({error})"
    return f"connection failed ({error})"


def _read_key(path: str, params: dict[str, Any] | None, headers: dict[str, str] | None) -> Hashable:
    """Identity of a GET for single-flight: header names are case-insensitive, order never matters."""
    frozen_params = tuple(sorted((str(name), repr(value)) for name, value in (params or {}).items()))
    frozen_headers = tuple(sorted((name.lower(), value) for name, value in (headers or {}).items()))
    return (path, frozen_params, frozen_headers)
