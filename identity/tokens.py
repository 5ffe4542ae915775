"""JSON Web Tokens: the claims a principal is issued, and their verification.

Every token names its key by `kid`; the key decides the algorithm (a token's own `alg` header must match
it), so an HS256 token cannot be verified with an RSA public key taken as an HMAC secret (algorithm
confusion), and `alg: none` has no key at all. `iss`, `aud`, `exp` and `nbf` are checked with a small leeway.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from identity.principal import TOKEN_ROLES, Principal, Role

HMAC_ALGORITHMS = frozenset({"HS256"})
PUBLIC_KEY_ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_TOKEN_BYTES = 8192
MAX_LOCATIONS_PER_TOKEN = 1000


class InvalidToken(Exception):
    """The token is refused; the message says why, in words fit for the caller."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A key tokens may be signed with: an HS256 secret or an RS256/ES256 public key.

    `retires_at`: a rotated-out key verifies tokens until then (epoch seconds), then no longer.
    """

    kid: str
    algorithm: str
    key: Any  # bytes for HS256, a cryptography public key for RS256/ES256
    retires_at: float | None = None

    def usable_at(self, now: float) -> bool:
        return self.retires_at is None or now < self.retires_at


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    issuer: str
    audience: str
    leeway_seconds: int


def unverified_kid(token: str) -> str:
    """The `kid` the token names, read before verification (to find its key)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("the token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as error:
        raise InvalidToken("the token is malformed") from error
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm.lower() == "none":
        raise InvalidToken("unsigned tokens are not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the token names no key (kid)")
    return kid


def verify(token: str, key: VerificationKey, policy: TokenPolicy, *, now: float | None = None) -> dict[str, Any]:
    """The token's claims, if `key` signed it, it is for this gateway and it is in date."""
    moment = time.time() if now is None else now
    if not key.usable_at(moment):
        raise InvalidToken("the token's signing key has been retired")
    header = jwt.get_unverified_header(token)
    if header.get("alg") != key.algorithm:
        raise InvalidToken("the token's algorithm does not match its key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm],
            audience=policy.audience,
            issuer=policy.issuer,
            leeway=policy.leeway_seconds,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidToken("the token has expired") from error
    except jwt.ImmatureSignatureError as error:
        raise InvalidToken("the token is not valid yet") from error
    except jwt.InvalidAudienceError as error:
        raise InvalidToken("the token is for another audience") from error
    except jwt.InvalidIssuerError as error:
        raise InvalidToken("the token is from another issuer") from error
    except jwt.InvalidSignatureError as error:
        raise InvalidToken("the token's signature does not verify") from error
    except jwt.PyJWTError as error:
        raise InvalidToken(f"the token is invalid: {error}") from error
    return claims


def _is_key(value: Any) -> bool:
    """A cache key such as `manchester-central` or `cus_…`; a global id (`Customer:cus_…`) would match no row."""
    return isinstance(value, str) and 0 < len(value) <= 64 and ":" not in value and value.isprintable()


def _strings(value: Any, claim: str, *, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit or not all(_is_key(v) for v in value):
        raise InvalidToken(f"the token's {claim} claim is not a list of ids (cache keys, not global ids)")
    return value


def _optional_id(value: Any, claim: str) -> str | None:
    if value is None:
        return None
    if not _is_key(value):
        raise InvalidToken(f"the token's {claim} claim is not an id (a cache key such as cus_…, not a global id)")
    return str(value)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token speaks for; a token whose role needs an id it lacks is refused."""
    try:
        role = Role(str(claims.get("role")))
    except ValueError as error:
        raise InvalidToken("the token names no known role") from error
    if role not in TOKEN_ROLES and role is not Role.LOCATION:
        raise InvalidToken("the token names no known role")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 200:
        raise InvalidToken("the token's subject is missing")
    locations = frozenset(_strings(claims.get("locations"), "locations", limit=MAX_LOCATIONS_PER_TOKEN))
    customer_id = _optional_id(claims.get("customer"), "customer")
    resource_id = _optional_id(claims.get("resource"), "resource")
    if role in (Role.LOCATION_MANAGER, Role.SHARED_STAFF) and not locations:
        raise InvalidToken(f"a {role.value} token must name its locations")
    if role is Role.LOCATION and len(locations) != 1:
        raise InvalidToken("a location token names exactly one location")
    if role is Role.FRANCHISEE and len(locations) != 1:
        raise InvalidToken("a franchisee token names exactly one location")
    if role is Role.CUSTOMER and customer_id is None:
        raise InvalidToken("a customer token must name its customer")
    if role is Role.SHARED_STAFF and resource_id is None:
        raise InvalidToken("a shared_staff token must name its resource")
    return Principal(
        subject=subject,
        role=role,
        location_ids=locations if role not in (Role.NETWORK_ADMIN, Role.HUB_ADMINISTRATOR) else frozenset(),
        customer_id=customer_id if role is Role.CUSTOMER else None,
        resource_id=resource_id if role is Role.SHARED_STAFF else None,
    )


def claims_for(
    *,
    role: Role,
    subject: str,
    locations: Iterable[str] = (),
    customer_id: str | None = None,
    resource_id: str | None = None,
    policy: TokenPolicy,
    ttl_seconds: int,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a token for a principal, checked as a verifier will check them."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": subject,
        "role": role.value,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if locations:
        claims["locations"] = sorted(set(locations))
    if customer_id is not None:
        claims["customer"] = customer_id
    if resource_id is not None:
        claims["resource"] = resource_id
    principal_from_claims(claims)  # a token the gateway would refuse is not issued
    return claims


def sign(claims: Mapping[str, Any], *, kid: str, algorithm: str, key: Any) -> str:
    return jwt.encode(dict(claims), key, algorithm=algorithm, headers={"kid": kid})
