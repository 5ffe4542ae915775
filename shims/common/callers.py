"""Who is calling a shim, as a principal: a person or service by bearer JWT, or a location by its own API key
(the credential store's current key, or one in its grace period). Every shim request runs as one principal."""

from __future__ import annotations

from starlette.requests import Request

from identity.principal import ANONYMOUS, Principal, location_principal
from identity.tokens import InvalidToken
from resolvers.context import Context
from resolvers.services import Services
from shims.common.endpoint import request_id_of
from shims.common.refusal import Refusal


def services_of(request: Request) -> Services:
    """The app's services, opened once by its lifespan."""
    services: Services = request.app.state.services
    return services


async def bearer_principal(request: Request, *, code: str = "UNAUTHENTICATED", required: bool = True) -> Principal:
    """The principal of the request's `Authorization: Bearer <JWT>`; 401 when it is missing (if required) or bad."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        if required:
            raise Refusal(401, code, "this endpoint needs `Authorization: Bearer <token>`")
        return ANONYMOUS
    try:
        return await services_of(request).authenticator.principal_for(authorization)
    except InvalidToken as error:
        raise Refusal(401, code, str(error)) from None


async def api_key_location(request: Request, *, kind: str, header: str = "x-api-key", code: str = "AUTH_FAILED") -> str:
    """The id of the location of `kind` whose inbound API key the request carries in `header`; 401 otherwise."""
    api_key = request.headers.get(header)
    if not api_key:
        raise Refusal(401, code, "Missing API key")
    # Keyed hashes compared in constant time; a rotated-out key is accepted during its grace.
    location_id = await services_of(request).credentials.verify(api_key[:512], kind=kind)
    if location_id is None:
        raise Refusal(401, code, "Invalid API key")
    return location_id


def spend(request: Request, principal: Principal, *, code: str = "RATE_LIMITED") -> None:
    """One of the principal's requests (the same buckets as GraphQL's): 429 with Retry-After when spent."""
    buckets = services_of(request).rate_limits
    if buckets is None:
        return
    verdict = buckets.take(principal)
    if not verdict.allowed:
        raise Refusal(
            429,
            code,
            f"Too many requests: try again in {verdict.retry_after} s",
            headers={"Retry-After": str(verdict.retry_after)},
        )


def context_for(request: Request, principal: Principal) -> Context:
    """The resolvers' context for this request, as `principal`, with the principal's row scope."""
    state = request.app.state
    return Context(
        engine=state.engine,
        settings=state.settings,
        bus=state.bus,
        request_id=request_id_of(request),
        opened_services=state.services,
        principal=principal,
    )


def location_caller(location_id: str) -> Principal:
    return location_principal(location_id)
