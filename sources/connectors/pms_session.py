"""Authenticated calls to a hotel PMS: a short-lived JWT bought with the API key, reused until
shortly before it expires, and bought again once when the PMS says 401 (expired early, key
rotated, PMS restarted with a new secret). Error bodies become `UpstreamRejected`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from sources.connectors.base import ConnectorConfig
from sources.connectors.errors import LocationUnavailable, RejectionCode, UpstreamRejected
from sources.connectors.http import LocationHttpClient
from sources.connectors.pms_payloads import REJECTIONS, Malformed, as_object, integer, string

PREFIX = "/api/booking-engine"
TOKEN_PATH = f"{PREFIX}/auth/token"
# Renew this long before the PMS's stated expiry (capped at a tenth of the lifetime for short tokens).
RENEW_MARGIN_SECONDS = 30.0


class PmsSession:
    def __init__(self, config: ConnectorConfig, api_key: str, transport: httpx.AsyncBaseTransport | None) -> None:
        self.location_id = config.location_id
        self._http = LocationHttpClient(config, transport=transport)
        self._api_key = api_key
        self._token: str | None = None
        self._renew_at = 0.0  # time.monotonic() after which the token is bought again
        self._token_lock = asyncio.Lock()

    @property
    def breaker_state(self) -> str:
        return self._http.breaker_state

    async def _bearer(self, rejected: str | None) -> str:
        """The current token, bought anew if there is none, it is near expiry, or it is the one just refused."""
        async with self._token_lock:
            if self._token is not None and self._token != rejected and time.monotonic() < self._renew_at:
                return self._token
            # Asking for a token changes nothing at the PMS, so the key only lets the client retry it.
            headers = {"Idempotency-Key": f"token-{uuid.uuid4().hex}"}
            response = await self._http.request("POST", TOKEN_PATH, json={"api_key": self._api_key}, headers=headers)
            if response.status_code in (401, 403):
                raise UpstreamRejected(self.location_id, RejectionCode.FORBIDDEN, "the hotel refused our API key")
            body = self.decode(response, f"POST {TOKEN_PATH}")
            try:
                token, lifetime = string(body, "token"), integer(body, "expires_in")
            except Malformed as error:
                raise self.unreadable(f"POST {TOKEN_PATH}", error) from error
            self._token = token
            self._renew_at = time.monotonic() + lifetime - min(RENEW_MARGIN_SECONDS, lifetime / 10)
            return token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """The decoded JSON object of a successful answer; 4xx error bodies raise `UpstreamRejected`."""
        token = await self._bearer(None)
        response = await self._send(method, path, token, json, params, idempotency_key)
        if response.status_code == 401:
            token = await self._bearer(token)
            response = await self._send(method, path, token, json, params, idempotency_key)
            if response.status_code == 401:
                raise UpstreamRejected(self.location_id, RejectionCode.FORBIDDEN, "the hotel refused a fresh token")
        return self.decode(response, f"{method} {path}")

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        json: Any,
        params: dict[str, Any] | None,
        idempotency_key: str | None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self._http.request(method, path, json=json, params=params, headers=headers)

    def decode(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as error:
            raise self.unreadable(
                what, Malformed(f"HTTP {response.status_code} with a body that is not JSON")
            ) from error
        if response.status_code >= 400:
            raise self._rejection(body, response.status_code, what)
        try:
            return as_object(body, "the answer")
        except Malformed as error:
            raise self.unreadable(what, error) from error

    def _rejection(self, body: Any, status: int, what: str) -> Exception:
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(code, str) or code not in REJECTIONS:
            return self.unreadable(what, Malformed(f"HTTP {status} without a known error code: {body!r:.200}"))
        return UpstreamRejected(self.location_id, REJECTIONS[code], f"{what}: {message or code}")

    def unreadable(self, what: str, error: Malformed) -> LocationUnavailable:
        return LocationUnavailable(self.location_id, f"{what}: unreadable answer: {error}")

    async def aclose(self) -> None:
        await self._http.aclose()
