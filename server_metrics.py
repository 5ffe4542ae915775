"""GET /metrics: the app's Prometheus metrics, with the gauges that describe now read at the scrape.

Outbox depth and dead letters come from the database, circuit breakers from the connectors, subscribers from
the event bus: each scrape reads them (one SQL statement) just before rendering, so no task polls between
scrapes and the values are as fresh as the scrape. If the database does not answer, the scrape still answers
with everything else (the outbox gauges keep their last values) and the failure is logged. The format follows
the scraper's Accept header: OpenMetrics for Prometheus, which asks for it; the Prometheus text format otherwise.

Access: open by default, as Prometheus exporters usually are (the scraper sits inside the network's fence and
the metrics hold no customer data, only counts per location and operation). With `GATEWAY_METRICS_TOKEN` set,
a scrape needs `Authorization: Bearer <token>`: a static credential, which is what Prometheus's scrape config
(`authorization: {credentials: …}`) sends, unlike the gateway's expiring JWTs.
"""

from __future__ import annotations

import hmac
import logging

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from observability.metrics import Metrics
from resolvers.services import Services
from schema.http import unauthenticated_body
from settings import Settings
from sync.outbox.queue import Depth, depth_by_location

logger = logging.getLogger("gateway.metrics")


def _authorized(request: Request, token: SecretStr) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), expected)


async def observe_now(services: Services, metrics: Metrics) -> None:
    """Set the gauges that say how things are now: outbox depth, circuit breakers, subscribers."""
    try:
        depth: dict[str, Depth] | None = await depth_by_location(services.engine)
    except Exception:
        logger.warning("metrics: the outbox depth could not be read", exc_info=True)
        depth = None
    breakers = services.connectors.breaker_states()
    # From here to the render nothing awaits: a concurrent scrape never sees the gauges half set.
    if depth is not None:
        metrics.outbox_pending.clear()
        metrics.outbox_dead.clear()
        # Every location with a connector has a value (0 when nothing waits), so an alert can tell 0 from absent.
        for location_id in sorted(set(depth) | set(breakers)):
            waiting = depth.get(location_id, Depth())
            metrics.outbox_pending.labels(location_id).set(waiting.pending)
            metrics.outbox_dead.labels(location_id).set(waiting.dead)
    metrics.breaker_state.clear()
    for location_id, state in breakers.items():
        metrics.breaker_state.labels(location_id).state(state)
    metrics.subscribers.set(services.bus.subscriber_count())


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if settings.metrics_token is not None and not _authorized(request, settings.metrics_token):
        return JSONResponse(
            unauthenticated_body("GET /metrics needs `Authorization: Bearer <GATEWAY_METRICS_TOKEN>`"),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    services: Services = request.app.state.services
    metrics = services.metrics
    await observe_now(services, metrics)
    body, content_type = metrics.render(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})
