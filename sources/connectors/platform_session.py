"""One authorised conversation with a booking platform: the OAuth2 token and how answers are read.

Every call shares one client-credentials token, fetched under a lock (concurrent calls
do not each fetch one), renewed a little before it expires, and fetched again once when
the platform answers 401 anyway (revoked, or its clock disagrees). Answers are decoded
here too, so that refusals map to the same `RejectionCode` whichever call met them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from sources.connectors import platform_wire as wire
from sources.connectors.base import ConnectorConfig
from sources.connectors.errors import LocationUnavailable, RejectionCode, UpstreamRejected
from sources.connectors.http import LocationHttpClient

T = TypeVar("T")
TOKEN_PATH = "/oauth/token"
_REJECTIONS = {
    "slot_unavailable": RejectionCode.SLOT_UNAVAILABLE,
    "not_found": RejectionCode.NOT_FOUND,
    "conflict": RejectionCode.CONFLICT,
    "invalid_request": RejectionCode.INVALID_INPUT,
    "forbidden": RejectionCode.FORBIDDEN,
    "precondition_failed": RejectionCode.STALE_VERSION,  # If-Match named a revision the row no longer has
}
_REJECTIONS_BY_STATUS = {
    400: RejectionCode.INVALID_INPUT,
    403: RejectionCode.FORBIDDEN,
    404: RejectionCode.NOT_FOUND,
    409: RejectionCode.CONFLICT,
    412: RejectionCode.STALE_VERSION,
    422: RejectionCode.INVALID_INPUT,
}


def error_field(response: httpx.Response, field: str = "error") -> str | None:
    """A field of an error body; an error page without JSON leaves the status code to speak."""
    try:
        payload = response.json()
    except ValueError:
        return None
    value = payload.get(field) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


class PlatformSession:
    def __init__(self, config: ConnectorConfig, http: LocationHttpClient) -> None:
        self._config = config
        self._http = http
        self._token: str | None = None
        self._token_good_until = 0.0  # monotonic
        self._token_lock = asyncio.Lock()

    @property
    def location_id(self) -> str:
        return self._config.location_id

    @property
    def breaker_state(self) -> str:
        return self._http.breaker_state

    def unavailable(self, message: str) -> LocationUnavailable:
        return LocationUnavailable(self.location_id, message)

    def read(self, what: str, build: Callable[[], T]) -> T:
        """Run a payload reader; a malformed answer is the location being unusable, not a crash."""
        try:
            return build()
        except wire.MalformedPayload as error:
            raise self.unavailable(f"{what}: unreadable answer: {error}") from error

    def decode(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise self.unavailable(f"{what}: HTTP {response.status_code} with a body that is not JSON") from error

    # -- token --------------------------------------------------------------------------

    async def access_token(self, refused: str | None = None) -> str:
        """The shared token; `refused` is one the platform just answered 401 to, so it is not reused."""
        async with self._token_lock:
            if self._token is not None and self._token != refused and time.monotonic() < self._token_good_until:
                return self._token
            self._token = None
            token, lifetime = await self._fetch_token()
            # Renew a little early so a call never leaves with a token that dies on the way.
            self._token_good_until = time.monotonic() + lifetime - min(30.0, lifetime / 10)
            self._token = token
            return token

    async def _fetch_token(self) -> tuple[str, float]:
        client_id = self._config.credentials.get("client_id")
        client_secret = self._config.credentials.get("client_secret")
        if not client_id or not client_secret:
            raise UpstreamRejected(self.location_id, RejectionCode.FORBIDDEN, "no client_id/client_secret configured")
        body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        # Asking for another token is harmless, so the key only lets the http client retry a lost request.
        headers = {"Idempotency-Key": f"token-{uuid.uuid4()}"}
        response = await self._http.request("POST", TOKEN_PATH, json=body, headers=headers)
        what = f"POST {TOKEN_PATH}"
        if response.status_code != 200:
            code = error_field(response)
            if response.status_code in (401, 403) or code in ("invalid_client", "unauthorized_client"):
                raise UpstreamRejected(
                    self.location_id, RejectionCode.FORBIDDEN, f"the platform refused our client credentials ({code})"
                )
            raise self.unavailable(f"{what}: HTTP {response.status_code} ({code})")
        payload = self.decode(response, what)

        def parse() -> tuple[str, float]:
            grant = wire.obj(payload, "the token answer")
            token_type = wire.string(grant, "token_type")
            if token_type.lower() != "bearer":
                raise wire.MalformedPayload(f"token_type {token_type!r} is not Bearer")
            lifetime = wire.integer(grant, "expires_in")
            if lifetime <= 0:
                raise wire.MalformedPayload(f"expires_in {lifetime} is not positive")
            return wire.string(grant, "access_token"), float(lifetime)

        return self.read(what, parse)

    # -- calls --------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One authorised call; a 401 earns one fresh token and one more try."""
        headers = dict(extra_headers or {})
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        token = await self.access_token()
        response = await self._http.request(
            method, path, json=json, params=params, headers={**headers, "Authorization": f"Bearer {token}"}
        )
        if response.status_code != 401:
            return response
        token = await self.access_token(refused=token)
        response = await self._http.request(
            method, path, json=json, params=params, headers={**headers, "Authorization": f"Bearer {token}"}
        )
        if response.status_code == 401:
            raise UpstreamRejected(
                self.location_id, RejectionCode.FORBIDDEN, f"{method} {path}: the platform refused a fresh token"
            )
        return response

    def answer(self, response: httpx.Response, what: str) -> Any:
        """The decoded body of a 2xx answer; a refusal becomes `UpstreamRejected` with our code."""
        if response.status_code < 300:
            return self.decode(response, what)
        code = error_field(response)
        description = error_field(response, "error_description")
        rejection = _REJECTIONS.get(code) if code is not None else None
        rejection = rejection or _REJECTIONS_BY_STATUS.get(response.status_code)
        if rejection is None:
            raise self.unavailable(f"{what}: unexpected HTTP {response.status_code} ({code})")
        raise UpstreamRejected(self.location_id, rejection, f"{what}: {description or code or response.status_code}")

    async def aclose(self) -> None:
        await self._http.aclose()
