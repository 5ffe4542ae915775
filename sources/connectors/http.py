"""HTTP to one location: timeouts, retries, circuit breaker, in-flight read dedupe.

SKELETON: the interface is fixed; the internals are being hardened (retries with
backoff and jitter, Retry-After, circuit breaker, single-flight GETs).
"""

from __future__ import annotations

from typing import Any

import httpx

from sources.connectors.base import ConnectorConfig
from sources.connectors.errors import LocationUnavailable

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class LocationHttpClient:
    """One location's HTTP client.

    `request` returns the response for any status below 500 except 429 (the connector
    maps 4xx bodies to `UpstreamRejected`); connection errors, timeouts, 5xx and 429
    past the retry budget raise `LocationUnavailable` (`CircuitOpen` while the breaker
    is open). A POST counts as idempotent only when it carries an ``Idempotency-Key``.
    """

    def __init__(self, config: ConnectorConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._client = httpx.AsyncClient(base_url=config.base_url, timeout=config.timeout_seconds, transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise LocationUnavailable(self.config.location_id, f"{method} {path}: {error!r}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise LocationUnavailable(self.config.location_id, f"{method} {path}: HTTP {response.status_code}")
        return response

    async def get_json(
        self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        """GET and decode; identical GETs already in flight share one request."""
        response = await self.request("GET", path, params=params, headers=headers)
        if response.status_code >= 400:
            raise LocationUnavailable(self.config.location_id, f"GET {path}: HTTP {response.status_code}")
        return response.json()

    async def aclose(self) -> None:
        await self._client.aclose()
