"""Optional OpenTelemetry traces: a span per HTTP request and WebSocket connection (ASGI), per SQL statement
(SQLAlchemy) and per call to a location (httpx), exported over OTLP/HTTP.

Nothing here is global: the tracer provider is the app's own, opened in its lifespan and handed to each
instrumentation explicitly (no `set_tracer_provider`, no patched `create_engine` or `httpx.AsyncClient`), so two
apps in one process, or an app started after another stopped, never share or inherit tracing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

INSTRUMENTATION_NAME = "booking-gateway"
# Metrics are prometheus-client's (observability.metrics): the instrumentations get a meter that records nothing.
_NO_METRICS = NoOpMeterProvider()


@dataclass
class Tracing:
    """The app's tracer provider and what it instruments; `aclose` flushes what is still buffered."""

    provider: TracerProvider
    _engines: list[AsyncEngine] = field(default_factory=list)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per SQL statement this engine sends."""
        tracer = self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        usage = _NO_METRICS.get_meter(INSTRUMENTATION_NAME).create_up_down_counter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]
        self._engines.append(engine)

    def transport(self) -> httpx.AsyncBaseTransport:
        """A transport for one httpx client (a connector's) that makes a client span per call and sends the
        trace context along (`traceparent`)."""
        return AsyncOpenTelemetryTransport(
            httpx.AsyncHTTPTransport(), tracer_provider=self.provider, meter_provider=_NO_METRICS
        )

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """`app` with a server span per HTTP request and WebSocket connection (not one per message sent or
        received: a subscription would be thousands)."""
        middleware: ASGIApp = OpenTelemetryMiddleware(
            app, tracer_provider=self.provider, meter_provider=_NO_METRICS, exclude_spans=["receive", "send"]
        )
        return middleware

    async def aclose(self) -> None:
        for engine in self._engines:
            _remove_engine_listeners(engine)
        self._engines.clear()
        # Exports the spans still buffered (a blocking HTTP call): off the event loop.
        await asyncio.to_thread(self.provider.shutdown)


def _remove_engine_listeners(engine: AsyncEngine) -> None:
    # EngineTracer keeps what it registered in a class-wide list and offers only "remove every engine's"; take
    # out this engine's alone, so another app's tracing in the same process carries on.
    registered: list[tuple[Any, str, Any]] = EngineTracer._remove_event_listener_params
    for entry in [entry for entry in registered if entry[0]() is engine.sync_engine]:
        _, identifier, listener = entry
        if event.contains(engine.sync_engine, identifier, listener):
            event.remove(engine.sync_engine, identifier, listener)
        registered.remove(entry)


def open_tracing(service_name: str, endpoint: str | None) -> Tracing:
    """A tracer provider exporting in batches to `endpoint`/v1/traces; without an endpoint, where the standard
    OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables say (the exporter reads them), else localhost:4318."""
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces") if endpoint else OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


class TracingSlot:
    """Where the lifespan puts the app's Tracing once it is open: the middleware stack is built before the
    lifespan runs, so the middleware finds it here."""

    def __init__(self) -> None:
        self.tracing: Tracing | None = None


class TracedRequests:
    """ASGI middleware: requests traced by the slot's Tracing while the app is open, untraced otherwise."""

    def __init__(self, app: ASGIApp, slot: TracingSlot) -> None:
        self.app = app
        self.slot = slot
        self._traced: tuple[Tracing, ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracing = self.slot.tracing
        if tracing is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self._traced is None or self._traced[0] is not tracing:
            self._traced = (tracing, tracing.asgi(self.app))
        await self._traced[1](scope, receive, send)
