"""Rate limits for the REST shims: the same buckets as GraphQL's (resolvers.rate_limit), spent by the
principal a shim authenticated, answered the HTTP way (429 with Retry-After) in the shim's own error shape."""

from __future__ import annotations

from starlette.requests import Request

from identity.principal import Principal
from resolvers.services import Services


def retry_after(request: Request, principal: Principal) -> int | None:
    """Spends one of the principal's requests: None when it may go on, else the seconds it must wait."""
    services: Services | None = getattr(request.app.state, "services", None)
    buckets = services.rate_limits if services is not None else None
    if buckets is None:
        return None
    verdict = buckets.take(principal)
    return None if verdict.allowed else verdict.retry_after


def retry_after_headers(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(seconds)}
