"""Who may call the gateway: bearer tokens over HTTP and in WebSocket connection_init, the gateway's own
rotating HS256 keys and an identity provider's RS256/ES256 keys (JWKS), and what an anonymous caller gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol
from ws_helpers import PROTOCOLS, TRANSPORT_WS, GraphQLSocket

from conftest import REPO, RunningGateway, start_gateway, stop_gateway
from identity.principal import Role
from identity.tokens import InvalidToken, TokenPolicy, claims_for, sign
from settings import Settings
from sources.cache.signing_keys import load_signing_keys

LOCATIONS = "{ locations { totalCount } }"
TYPENAME = "{ __typename }"
INTROSPECTION = "{ __schema { queryType { name } } }"
LOCATION_EVENTS = "subscription { locationStatusEvents { locationId } }"
POLICY = TokenPolicy(issuer="booking-gateway", audience="booking-gateway", leeway_seconds=30)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(public: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    return jwk | {"kid": kid, "alg": alg, "use": "sig"}


class IdentityProvider:
    """An identity provider's signing keys, published to the gateway as a JWKS file."""

    def __init__(self, path: Path) -> None:
        self.rsa = _rsa_key()
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.path = path
        path.write_text(
            json.dumps(
                {
                    "keys": [
                        _jwk(self.rsa.public_key(), "idp-rsa", "RS256"),
                        _jwk(self.ec.public_key(), "idp-ec", "ES256"),
                    ]
                }
            )
        )

    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> IdentityProvider:
    return IdentityProvider(tmp_path_factory.mktemp("idp") / "jwks.json")


@pytest.fixture(scope="module")
def secured(own_database_url: str, idp: IdentityProvider) -> Iterator[RunningGateway]:
    """A gateway over an empty network that reads its keys again quickly (rotations by another process)."""
    settings = Settings(
        database_url=own_database_url,
        demo_network=False,
        simulate_locations=False,
        sync_scheduler=False,
        graphiql=False,
        jwks_file=idp.path,
        signing_keys_refresh_seconds=0.2,
        jwks_min_refetch_seconds=0.0,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def _token(gateway: RunningGateway, role: Role = Role.NETWORK_ADMIN, **claims: Any) -> str:
    token: str = gateway.run(gateway.app.state.authenticator.issue(role, subject="tester", **claims))
    return token


def _current_key(gateway: RunningGateway) -> Any:
    keys = gateway.run(load_signing_keys(gateway.engine, gateway.app.state.services.secrets))
    return keys[0]


def _signed_by_gateway(gateway: RunningGateway, claims: dict[str, Any]) -> str:
    key = _current_key(gateway)
    return sign(claims, kid=key.kid, algorithm="HS256", key=key.key)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _post(gateway: RunningGateway, query: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/graphql", json={"query": query}, headers=headers, timeout=30)


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def _accepted(gateway: RunningGateway, token: str) -> bool:
    response = _post(gateway, LOCATIONS, _bearer(token))
    return response.status_code == 200 and "errors" not in response.json()


def _refused_over_websocket(gateway: RunningGateway, token: str, protocol: str) -> bool:
    url = gateway.url.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=[Subprotocol(protocol)], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        try:
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message["type"] == "connection_error":
                    return True
                if message["type"] == "connection_ack":
                    return False
        except ConnectionClosed as closed:
            return closed.rcvd is not None and closed.rcvd.code in (4403, 1011)


def test_an_anonymous_caller_gets_typename_and_health_and_nothing_else(secured: RunningGateway) -> None:
    assert _post(secured, TYPENAME, {}).json() == {"data": {"__typename": "Query"}}
    assert httpx.get(f"{secured.url}/health").status_code == 200
    refused = _post(secured, LOCATIONS, {}).json()
    assert refused["data"] is None and _codes(refused) == ["UNAUTHENTICATED"]
    assert _codes(_post(secured, INTROSPECTION, {}).json()) == ["UNAUTHENTICATED"]
    mutation = 'mutation { triggerSync(input: {locationId: "Location:x"}) { errors { code } } }'
    assert _codes(_post(secured, mutation, {}).json()) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_anonymous_subscription_is_refused(secured: RunningGateway, protocol: str) -> None:
    with GraphQLSocket(secured.url, protocol) as socket:
        operation = socket.subscribe(LOCATION_EVENTS)
        with pytest.raises(AssertionError) as refused:
            socket.next(operation, seconds=5)
    assert "UNAUTHENTICATED" in str(refused.value)


def test_a_token_the_gateway_issued_works_over_http_and_both_websocket_protocols(secured: RunningGateway) -> None:
    token = _token(secured)
    assert _accepted(secured, token)
    with GraphQLSocket(secured.url, TRANSPORT_WS, token=token) as socket:
        assert socket.query(LOCATIONS)["locations"]["totalCount"] == 0
    for protocol in PROTOCOLS:
        with GraphQLSocket(secured.url, protocol, token=token) as socket:
            operation = socket.subscribe(LOCATION_EVENTS)
            with pytest.raises(TimeoutError):  # accepted: no error, and no location changes status
                socket.next(operation, seconds=1)


def _bad_tokens(gateway: RunningGateway, idp: IdentityProvider) -> dict[str, str]:
    now = time.time()
    fine = claims_for(role=Role.NETWORK_ADMIN, subject="x", policy=POLICY, ttl_seconds=600)
    expired = claims_for(role=Role.NETWORK_ADMIN, subject="x", policy=POLICY, ttl_seconds=600, now=now - 7200)
    wrong_audience = fine | {"aud": "someone-else"}
    wrong_issuer = fine | {"iss": "https://evil.example"}
    not_yet = fine | {"nbf": int(now) + 3600}
    customer = _token(gateway, Role.CUSTOMER, customer_id="cus-1")
    header, payload, signature = customer.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"role": "network_admin"}).encode()).rstrip(b"=").decode()
    kid = _current_key(gateway).kid
    unsigned_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": kid}).encode()).rstrip(b"=")
    unsigned = f"{unsigned_header.decode()}.{payload}."
    # Algorithm confusion: an HS256 token whose "secret" is the identity provider's public RSA key.
    confused_header = {"alg": "HS256", "kid": "idp-rsa", "typ": "JWT"}
    confused = jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(
        json.dumps(fine).encode(), key=b"0" * 32, algorithm="HS256", headers=confused_header
    )
    header_part, body_part, _ = confused.split(".")
    mac = hmac.new(idp.rsa_public_pem(), f"{header_part}.{body_part}".encode(), hashlib.sha256).digest()
    confused = f"{header_part}.{body_part}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    return {
        "expired": _signed_by_gateway(gateway, expired),
        "wrong audience": _signed_by_gateway(gateway, wrong_audience),
        "wrong issuer": _signed_by_gateway(gateway, wrong_issuer),
        "not yet valid": _signed_by_gateway(gateway, not_yet),
        "tampered": f"{header}.{forged}.{signature}",
        "alg none": unsigned,
        "algorithm confusion": confused,
        "unknown key": sign(fine, kid="nobody-knows", algorithm="HS256", key=b"k" * 32),
        "garbage": "not-a-token",
    }


def test_bad_tokens_are_refused_over_http_and_websocket(secured: RunningGateway, idp: IdentityProvider) -> None:
    for name, token in _bad_tokens(secured, idp).items():
        response = _post(secured, TYPENAME, _bearer(token))
        assert response.status_code == 401, (name, response.text)
        assert _codes(response.json()) == ["UNAUTHENTICATED"], name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        for protocol in PROTOCOLS:
            assert _refused_over_websocket(secured, token, protocol), (name, protocol)


def test_an_identity_providers_rs256_and_es256_tokens_are_accepted(
    secured: RunningGateway, idp: IdentityProvider
) -> None:
    claims = claims_for(role=Role.HUB_ADMINISTRATOR, subject="sso-user", policy=POLICY, ttl_seconds=600)
    rs256 = sign(claims, kid="idp-rsa", algorithm="RS256", key=idp.rsa)
    es256 = sign(claims, kid="idp-ec", algorithm="ES256", key=idp.ec)
    assert _accepted(secured, rs256)
    assert _accepted(secured, es256)
    # The same claims signed with the wrong private key under the published kid: refused.
    impostor = sign(claims, kid="idp-rsa", algorithm="RS256", key=_rsa_key())
    assert _post(secured, LOCATIONS, _bearer(impostor)).status_code == 401


def _rotate(gateway: RunningGateway, grace_seconds: int) -> str:
    """`python server.py rotate-signing-key`, as an operator runs it beside the running gateway."""
    database_url = gateway.app.state.settings.database_url
    command = [sys.executable, "tests/clocked.py", "server.py", "--database-url", database_url]
    done = subprocess.run(
        [*command, "rotate-signing-key", "--grace", str(grace_seconds)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _eventually(condition: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_a_rotated_key_verifies_during_its_grace_and_not_after(secured: RunningGateway) -> None:
    before = _token(secured)
    assert _rotate(secured, grace_seconds=3600).startswith("signing with key")
    # The running gateway picks up the new key (another process wrote it) and signs with it ...
    assert _eventually(lambda: _current_key(secured).kid != jwt.get_unverified_header(before)["kid"])
    after = _signed_by_gateway(
        secured, claims_for(role=Role.NETWORK_ADMIN, subject="x", policy=POLICY, ttl_seconds=600)
    )
    assert _accepted(secured, after)
    # ... while a token of the previous key still works within the grace period.
    assert _accepted(secured, before)
    # Rotating again with no grace retires both earlier keys at once: their tokens are refused.
    _rotate(secured, grace_seconds=0)
    assert _eventually(lambda: not _accepted(secured, before))
    assert _eventually(lambda: not _accepted(secured, after))
    refused = _post(secured, LOCATIONS, _bearer(before))
    assert refused.status_code == 401 and _codes(refused.json()) == ["UNAUTHENTICATED"]
    for protocol in PROTOCOLS:
        assert _refused_over_websocket(secured, before, protocol)
    assert _accepted(secured, _token(secured))


def test_a_token_for_a_role_without_its_ids_is_not_issued(secured: RunningGateway) -> None:
    with pytest.raises(InvalidToken):
        _token(secured, Role.CUSTOMER)
    with pytest.raises(InvalidToken):
        _token(secured, Role.LOCATION_MANAGER)


def test_a_public_booking_frontend_may_read_the_catalogue_and_availability_anonymously(own_database_url: str) -> None:
    settings = Settings(
        database_url=own_database_url,
        demo_network=False,
        simulate_locations=False,
        sync_scheduler=False,
        graphiql=False,
        public_availability=True,
    )
    public = start_gateway(settings)
    try:
        assert _post(public, LOCATIONS, {}).json() == {"data": {"locations": {"totalCount": 0}}}
        assert _post(public, "{ services { totalCount } }", {}).json()["data"]["services"]["totalCount"] == 0
        # People and operations stay closed; so does the schema itself.
        assert _codes(_post(public, "{ bookings { totalCount } }", {}).json()) == ["UNAUTHENTICATED"]
        assert _codes(_post(public, "{ customers { totalCount } }", {}).json()) == ["UNAUTHENTICATED"]
        revenue = '{ revenue(from: "2026-01-01", to: "2026-01-31") { __typename } }'
        assert _codes(_post(public, revenue, {}).json()) == ["UNAUTHENTICATED"]
        assert _codes(_post(public, INTROSPECTION, {}).json()) == ["UNAUTHENTICATED"]
    finally:
        stop_gateway(public)


class PublishedKeys:
    """An identity provider's JWKS URL, served over real HTTP; counts how often the gateway fetched it."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0

    async def jwks(self, request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"keys": self.keys})


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, PublishedKeys]]:
    published = PublishedKeys()
    app = Starlette(routes=[Route("/.well-known/jwks.json", published.jwks)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/.well-known/jwks.json", published
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_key_the_identity_provider_publishes_later_is_fetched_on_its_first_token_and_fetches_are_rate_limited(
    own_database_url: str, jwks_server: tuple[str, PublishedKeys]
) -> None:
    url, published = jwks_server
    first, second = _rsa_key(), _rsa_key()
    published.keys = [_jwk(first.public_key(), "idp-1", "RS256")]
    settings = Settings(
        database_url=own_database_url,
        demo_network=False,
        simulate_locations=False,
        sync_scheduler=False,
        graphiql=False,
        jwks_url=url,
        jwks_min_refetch_seconds=3600.0,  # one fetch for unknown kids per hour, however many arrive
    )
    gateway = start_gateway(settings)
    try:
        claims = claims_for(role=Role.HUB_ADMINISTRATOR, subject="sso", policy=POLICY, ttl_seconds=600)
        assert _accepted(gateway, sign(claims, kid="idp-1", algorithm="RS256", key=first))
        fetched_at_start = published.fetches
        # The provider rotates: the new key is published after the gateway started, and found on first use.
        published.keys.append(_jwk(second.public_key(), "idp-2", "RS256"))
        assert _accepted(gateway, sign(claims, kid="idp-2", algorithm="RS256", key=second))
        assert published.fetches == fetched_at_start + 1
        # A flood of made-up kids does not become a flood of fetches: the window is spent.
        for number in range(20):
            made_up = sign(claims, kid=f"made-up-{number}", algorithm="RS256", key=second)
            assert _post(gateway, LOCATIONS, _bearer(made_up)).status_code == 401
        assert published.fetches == fetched_at_start + 1
    finally:
        stop_gateway(gateway)


def test_a_token_naming_a_global_id_instead_of_a_key_is_not_issued(secured: RunningGateway) -> None:
    # "Customer:cus_1" would match no row: the caller would see nothing and not know why.
    with pytest.raises(InvalidToken, match="global id"):
        _token(secured, Role.CUSTOMER, customer_id="Customer:cus_1")
    with pytest.raises(InvalidToken, match="global id"):
        _token(secured, Role.LOCATION_MANAGER, locations=["Location:manchester-central"])
