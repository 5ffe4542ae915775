"""The simulated PMS's API access: an API key buys a short-lived HS256 JWT for one hotel.

Expiry is checked against an injectable clock (not pyjwt's wall clock), so a test can
age every issued token at once without sleeping.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from typing import Any

import jwt

from devnet.simulators.pms_payloads import PmsError

ISSUER = "rht-hotel-pms"
ALGORITHM = "HS256"


class TokenIssuer:
    def __init__(
        self, *, hotel_id: str, api_key: str, secret: str, ttl_seconds: int, clock: Callable[[], float]
    ) -> None:
        self.hotel_id = hotel_id
        self._api_key = api_key
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self.issued = 0  # tokens handed out, for tests checking that clients reuse theirs

    def issue(self, api_key: Any) -> dict[str, Any]:
        if not isinstance(api_key, str) or not hmac.compare_digest(api_key.encode(), self._api_key.encode()):
            raise PmsError(401, "UNAUTHORIZED", "invalid api key")
        now = int(self._clock())
        claims = {
            "iss": ISSUER,
            "sub": "booking-engine",
            "hotel_id": self.hotel_id,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        self.issued += 1
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return {"token": token, "token_type": "Bearer", "expires_in": self.ttl_seconds}

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; 401 when it is not ours or has expired, 403 when it is for another hotel."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "iat", "hotel_id"]},
            )
        except jwt.PyJWTError as error:
            raise PmsError(401, "UNAUTHORIZED", f"invalid token: {error}") from error
        expires = claims["exp"]
        if not isinstance(expires, int) or expires <= self._clock():
            raise PmsError(401, "UNAUTHORIZED", "token expired")
        if claims["hotel_id"] != self.hotel_id:
            raise PmsError(403, "FORBIDDEN", "the token is for another hotel")
        return claims

    def authorize(self, authorization: str | None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PmsError(401, "UNAUTHORIZED", "a bearer token is required")
        return self.verify(token.strip())
