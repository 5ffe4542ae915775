"""HTTP requests counted and timed by route template: the REST shims, /graphql, health and the rest.

The label is the template of the route that answered (`/api/bookings/{booking_id}`), never the path asked for,
so ids in paths never become series; a request no route matched is `unmatched`. The app's `Metrics` is found on
`app.state.metrics`, which the lifespan sets: before it (or in an app without one) nothing is recorded.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.metrics import Metrics

UNMATCHED_ROUTE = "unmatched"
# The method is the client's to choose: anything else is counted as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _metrics_of(scope: Scope) -> Metrics | None:
    metrics = getattr(getattr(scope.get("app"), "state", None), "metrics", None)
    return metrics if isinstance(metrics, Metrics) else None


def route_template(scope: Scope) -> str:
    """The path template of the route Starlette's router matched for this request (it sets `scope["route"]`)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class HttpMetrics:
    """ASGI middleware: one count and one duration per HTTP request, by method, route template and status.

    Outermost, so a request another middleware refuses (an oversized body) is counted too. A streamed answer
    (server-sent events) is timed until its last byte.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = _metrics_of(scope) if scope["type"] == "http" else None
        if metrics is None:
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app fails before it starts a response
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope.get("method", "") if scope.get("method") in METHODS else "OTHER"
            route = route_template(scope)
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_duration.labels(method, route).observe(time.perf_counter() - started)
