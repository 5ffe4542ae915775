"""Who is asking: a bearer token turned into a principal, and the tokens the gateway issues.

Opened once in the app's lifespan. It holds the keys that verify tokens: the gateway's own HS256 keys
(from the cache database, shared with every replica and the CLI) and the public keys of a JWKS file or URL.
Both are read again periodically, and at once (rate-limited) when a token names a `kid` not seen yet, so a
key rotated in by another process or the identity provider is accepted within moments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.jwks import InvalidJwks, parse_jwks
from identity.principal import ANONYMOUS, Principal, Role
from identity.secrets import SecretBox
from identity.tokens import InvalidToken, TokenPolicy, VerificationKey, claims_for, sign, unverified_kid, verify
from identity.tokens import principal_from_claims as _principal_from_claims
from observability.background import pass_failed
from settings import Settings
from sources.cache.signing_keys import ensure_signing_key, load_signing_keys

logger = logging.getLogger("gateway.authentication")

BEARER = "bearer "
VERIFIED_TOKENS_KEPT = 10_000


def policy_of(settings: Settings) -> TokenPolicy:
    return TokenPolicy(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, leeway_seconds=settings.jwt_leeway_seconds
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when there is no credential at all."""
    if authorization is None or not authorization.strip():
        return None
    if not authorization[: len(BEARER)].lower() == BEARER:
        raise InvalidToken("the Authorization header must be `Bearer <token>`")
    token = authorization[len(BEARER) :].strip()
    if not token:
        raise InvalidToken("the Authorization header carries no token")
    return token


class Authenticator:
    def __init__(self, engine: AsyncEngine, box: SecretBox, settings: Settings) -> None:
        self._engine = engine
        self._box = box
        self._settings = settings
        self._policy = policy_of(settings)
        self._own: dict[str, VerificationKey] = {}
        self._current: VerificationKey | None = None
        self._published: dict[str, VerificationKey] = {}
        # Tokens already verified: their principal, key and expiry (bounded; the oldest go first).
        self._verified: dict[str, tuple[Principal, str, float]] = {}
        self._last_refetch = float("-inf")
        self._refetch_lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """The gateway's own keys read (the first start creates one): enough to issue tokens (the CLI)."""
        await ensure_signing_key(self._engine, self._box)
        await self._reload_own()

    async def start(self) -> None:
        """Ready to verify tokens, with the keys read again periodically until aclose."""
        await self.prepare()
        self._load_jwks_file()
        if self._settings.jwks_url:
            self._http = httpx.AsyncClient(timeout=self._settings.connector_timeout_seconds)
            await self._fetch_jwks_url()
        self._task = asyncio.create_task(self._refresh_forever(), name="background:key-refresh")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.aclose()

    async def _refresh_forever(self) -> None:
        # Two clocks on one loop: the cache's keys often (cheap, a rotation elsewhere must show soon), the
        # identity provider's JWKS at its own, slower interval (an HTTP fetch).
        interval = min(self._settings.jwks_refresh_seconds, self._settings.signing_keys_refresh_seconds)
        fetched_at = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await self._reload_own()
                if time.monotonic() - fetched_at >= self._settings.jwks_refresh_seconds:
                    fetched_at = time.monotonic()
                    await self._fetch_jwks_url()
            except Exception:  # noqa: BLE001 - keep the keys we have; the next round tries again
                pass_failed(logger, "authentication: refreshing the signing keys failed")

    # -- keys -------------------------------------------------------------------------------------

    async def _reload_own(self) -> None:
        keys = await load_signing_keys(self._engine, self._box)
        self._own = {key.kid: key for key in keys}
        self._current = keys[0] if keys and keys[0].retires_at is None else None

    def _load_jwks_file(self) -> None:
        path: Path | None = self._settings.jwks_file
        if path is not None:
            self._publish(parse_jwks(path.read_bytes()), replace_all=True)

    async def _fetch_jwks_url(self) -> None:
        if self._http is None or not self._settings.jwks_url:
            return
        try:
            response = await self._http.get(self._settings.jwks_url)
            response.raise_for_status()
            keys = parse_jwks(response.content)
        except (httpx.HTTPError, InvalidJwks) as error:
            logger.warning("authentication: the JWKS at %s could not be read: %s", self._settings.jwks_url, error)
            return
        self._publish(keys, replace_all=False)

    def _publish(self, keys: Iterable[VerificationKey], *, replace_all: bool) -> None:
        fresh = {key.kid: key for key in keys}
        self._published = fresh if replace_all else {**self._published, **fresh}

    async def _refetch(self) -> None:
        """An unknown kid: read the keys again, at most once per jwks_min_refetch_seconds (a flood of made-up
        kids must not become a flood of fetches)."""
        async with self._refetch_lock:
            if time.monotonic() - self._last_refetch < self._settings.jwks_min_refetch_seconds:
                return
            self._last_refetch = time.monotonic()
            try:
                await self._reload_own()
            except Exception:  # the cache database is down: verify with the keys already known
                logger.warning("authentication: could not read the signing keys again", exc_info=True)
            await self._fetch_jwks_url()

    async def _key(self, kid: str) -> VerificationKey:
        key = self._own.get(kid) or self._published.get(kid)
        if key is None:
            await self._refetch()
            key = self._own.get(kid) or self._published.get(kid)
        if key is None:
            raise InvalidToken("the token's signing key is unknown")
        return key

    # -- principals -------------------------------------------------------------------------------

    async def principal_for_token(self, token: str) -> Principal:
        """The token's principal. A token verified before is not verified again while it is in date and its key
        still verifies (a dashboard sends the same token on every request: ~0.13 ms of pyjwt saved each time)."""
        principal, _ = await self.verified(token)
        return principal

    async def verified(self, token: str) -> tuple[Principal, float]:
        """The token's principal and its expiry (epoch seconds); InvalidToken when it does not verify."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None:
            principal, kid, expires_at = known
            key = self._own.get(kid) or self._published.get(kid)
            if key is not None and key.usable_at(now) and now < expires_at + self._policy.leeway_seconds:
                return principal, expires_at
            del self._verified[token]
        kid = unverified_kid(token)
        key = await self._key(kid)
        claims = verify(token, key, self._policy, now=now)
        principal = _principal_from_claims(claims)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.pop(next(iter(self._verified)))  # the oldest: dicts keep insertion order
        expires_at = float(claims["exp"])
        self._verified[token] = (principal, kid, expires_at)
        return principal, expires_at

    async def principal_for(self, authorization: str | None) -> Principal:
        """The caller of a request with this Authorization header value; ANONYMOUS without one."""
        token = bearer_token(authorization)
        return ANONYMOUS if token is None else await self.principal_for_token(token)

    async def issue(
        self,
        role: Role,
        *,
        subject: str,
        locations: Iterable[str] = (),
        customer_id: str | None = None,
        resource_id: str | None = None,
        ttl_seconds: int | None = None,
    ) -> str:
        """A token signed with the current key."""
        if self._current is None:
            await self._reload_own()
        if self._current is None:
            raise RuntimeError("no current signing key")
        claims = claims_for(
            role=role,
            subject=subject,
            locations=locations,
            customer_id=customer_id,
            resource_id=resource_id,
            policy=self._policy,
            ttl_seconds=ttl_seconds or self._settings.jwt_default_ttl_seconds,
        )
        return sign(claims, kid=self._current.kid, algorithm=self._current.algorithm, key=self._current.key)
