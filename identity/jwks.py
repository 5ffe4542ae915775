"""Public keys from a JWKS document (RFC 7517): RS256 and ES256 keys an identity provider signs with."""

from __future__ import annotations

import json
from typing import Any

import jwt

from identity.tokens import PUBLIC_KEY_ALGORITHMS, VerificationKey

ALGORITHM_OF_KEY_TYPE: dict[tuple[Any, Any], str] = {("RSA", None): "RS256", ("EC", "P-256"): "ES256"}


class InvalidJwks(Exception):
    """The document is not a JWKS, or holds no key the gateway can use."""


def parse_jwks(document: str | bytes | dict[str, Any]) -> list[VerificationKey]:
    """The document's RS256/ES256 signing keys that have a `kid`; other keys (encryption, HMAC, no kid) are
    left out, because a token must name its key and a published key is never an HMAC secret."""
    try:
        data = json.loads(document) if isinstance(document, str | bytes) else document
        entries = data["keys"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidJwks("not a JWKS document (an object with a `keys` list)") from error
    if not isinstance(entries, list):
        raise InvalidJwks("not a JWKS document (an object with a `keys` list)")
    keys: list[VerificationKey] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or entry.get("use", "sig") != "sig":
            continue
        algorithm = entry.get("alg") or ALGORITHM_OF_KEY_TYPE.get((entry.get("kty"), entry.get("crv")))
        if algorithm not in PUBLIC_KEY_ALGORITHMS:
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=algorithm).key
        except jwt.PyJWKError:
            continue
        keys.append(VerificationKey(kid=entry["kid"], algorithm=algorithm, key=key))
    return keys
