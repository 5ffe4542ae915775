"""Talking to one BookingX node: the handshake, the cached bearer token, and what its answers mean.

The node hands out a short-lived token for a signed handshake (API key + HMAC of a
timestamp with the secret). The session handshakes on first use, keeps the token until
shortly before it expires, and when the node still says 401 (it restarted, rotated keys,
or its clock ran ahead) handshakes once more and repeats the call; the repeat carries the
same Idempotency-Key, so a write the node did apply is not applied twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

import httpx

from sources.connectors.base import ConnectorConfig
from sources.connectors.bookingx_answers import Fields, MalformedAnswer
from sources.connectors.errors import LocationUnavailable, RejectionCode, UpstreamRejected
from sources.connectors.http import LocationHttpClient

PREFIX = "/wp-json/bookingx-network/v1"
REJECTION_CODES = frozenset(code.value for code in RejectionCode)
# Renew this long before the node's expiry at most, so a call never leaves with a token about to lapse.
RENEW_MARGIN_SECONDS = 30.0


def handshake_signature(api_secret: str, timestamp: int, api_key: str) -> str:
    return hmac.new(api_secret.encode(), f"{timestamp}.{api_key}".encode(), hashlib.sha256).hexdigest()


class BookingXSession:
    def __init__(self, config: ConnectorConfig, http: LocationHttpClient) -> None:
        self._config = config
        self._http = http
        self._token: str | None = None
        self._renew_at = 0.0  # time.monotonic() after which the token is handshaken anew
        self._lock = asyncio.Lock()
        self.node_version: str | None = None

    @property
    def node_id(self) -> str:
        return str(self._config.extra.get("node_id", self._config.location_id))

    def _unavailable(self, message: str) -> LocationUnavailable:
        return LocationUnavailable(self._config.location_id, message)

    def _rejected(self, code: RejectionCode, message: str) -> UpstreamRejected:
        return UpstreamRejected(self._config.location_id, code, message)

    # -- answers -------------------------------------------------------------------------------
    def decode(self, method: str, path: str, response: httpx.Response) -> Any:
        """The JSON of a 2xx answer (None when empty); a 4xx with a known code becomes UpstreamRejected."""
        what = f"{method} {path}"
        if response.status_code < 300:
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as error:
                raise self._unavailable(f"{what}: answer is not JSON") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code < 500 and isinstance(code, str) and code in REJECTION_CODES:
            message = body.get("message") if isinstance(body, dict) else None
            raise self._rejected(RejectionCode(code), str(message or code))
        raise self._unavailable(f"{what}: HTTP {response.status_code} {response.text[:200]!r}")

    # -- token ---------------------------------------------------------------------------------
    async def _handshake(self) -> None:
        api_key = self._config.credentials.get("api_key")
        api_secret = self._config.credentials.get("api_secret")
        if not api_key or not api_secret:
            raise self._rejected(RejectionCode.FORBIDDEN, "api_key and api_secret are not configured")
        timestamp = int(time.time())
        payload = {
            "node_id": self.node_id,
            "api_key": api_key,
            "timestamp": timestamp,
            "signature": handshake_signature(api_secret, timestamp, api_key),
        }
        path = f"{PREFIX}/handshake"
        response = await self._http.request("POST", path, json=payload)
        if response.status_code == 401:
            raise self._rejected(RejectionCode.FORBIDDEN, "handshake refused")
        answer = self.decode("POST", path, response)
        try:
            fields = Fields(answer, "handshake answer")
            token, expires_in = fields.identifier("token"), fields.integer("expires_in")
            answered_as, version = fields.identifier("node_id"), fields.optional_text("version")
        except MalformedAnswer as error:
            raise self._unavailable(f"POST {path}: {error}") from error
        if expires_in <= 0:
            raise self._unavailable(f"POST {path}: token expires_in {expires_in}")
        if answered_as != self.node_id:
            raise self._unavailable(f"POST {path}: answered as node {answered_as}, expected {self.node_id}")
        self._token, self.node_version = token, version
        self._renew_at = time.monotonic() + expires_in - min(RENEW_MARGIN_SECONDS, expires_in / 10)

    async def token(self, *, refused: str | None = None) -> str:
        """A token believed valid; `refused` is one the node just turned down, so it is never handed out again."""
        async with self._lock:
            # Concurrent callers wait here; the first handshakes and the rest reuse its token.
            if self._token is None or self._token == refused or time.monotonic() >= self._renew_at:
                self._token = None
                await self._handshake()
            assert self._token is not None  # _handshake sets it or raises
            return self._token

    # -- calls ---------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        authenticated: bool = True,
    ) -> Any:
        full_path = PREFIX + path
        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        if not authenticated:
            response = await self._http.request(method, full_path, json=json, params=params, headers=headers)
            return self.decode(method, full_path, response)
        token = await self.token()
        response = await self._http.request(
            method, full_path, json=json, params=params, headers=headers | {"Authorization": f"Bearer {token}"}
        )
        if response.status_code == 401:
            token = await self.token(refused=token)
            response = await self._http.request(
                method, full_path, json=json, params=params, headers=headers | {"Authorization": f"Bearer {token}"}
            )
            if response.status_code == 401:
                raise self._rejected(RejectionCode.FORBIDDEN, f"{method} {full_path}: fresh token refused")
        return self.decode(method, full_path, response)
