"""OpenTelemetry traces, when switched on: one trace per request, with the HTTP request's server span, the SQL
statements it ran and the calls it made to a location, exported over OTLP/HTTP to a collector."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace import TracerProvider

from conftest import LIVE_SETTINGS, start_gateway, stop_gateway
from settings import Settings

MANCHESTER = "manchester-central"
# maxAge: 0 asks the location live before the cache answers: the request reaches a location and the database.
LIVE_BOOKINGS = """
query LiveBookings {
  bookings(first: 1, maxAge: 0) { totalCount }
}
"""


@dataclass
class Collector:
    """A tiny OTLP/HTTP receiver on 127.0.0.1: keeps every span POSTed to /v1/traces."""

    url: str
    spans: list[tuple[str, Span]] = field(default_factory=list)  # (service.name, span)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                attributes = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((attributes.get("service.name", ""), span) for span in scope_spans.spans)


def _handler(collector: Collector) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                collector.record(body)
                self.send_response(200)
            else:
                self.send_response(404)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output is the gateway's

    return Receiver


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Collector("")))
    collector = Collector(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        server.shutdown()
        server.server_close()


def _attributes(span: Span) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        values[kv.key] = getattr(kv.value, kind) if kind else None
    return values


def test_a_traced_request_exports_its_http_sql_and_location_spans_in_one_trace(
    own_database_url: str, collector: Collector
) -> None:
    settings = Settings(
        database_url=own_database_url,
        demo_network=True,
        otel_enabled=True,
        otel_endpoint=collector.url,
        otel_service_name="gateway-under-test",
        **{**LIVE_SETTINGS, "heartbeat_seconds": 600.0},  # no heartbeat traces beside the request's
    )
    gateway = start_gateway(settings)
    try:
        location_url = gateway.simulator(MANCHESTER).url
        response = httpx.post(
            f"{gateway.url}/graphql",
            json={"query": LIVE_BOOKINGS},
            headers=gateway.headers,
            timeout=60,
        )
        body = response.json()
        assert "errors" not in body, body
        assert body["extensions"]["freshness"][MANCHESTER]["bookings"]["source"] == "live"
    finally:
        stop_gateway(gateway)  # the lifespan's end flushes the spans still buffered

    with collector.lock:
        spans = list(collector.spans)
    assert {service for service, _ in spans} == {"gateway-under-test"}
    servers = [
        span
        for _, span in spans
        if span.kind == Span.SPAN_KIND_SERVER
        and _attributes(span).get("http.target", _attributes(span).get("url.path")) == "/graphql"
    ]
    assert len(servers) == 1, [span.name for _, span in spans]
    request = servers[0]
    in_trace = [span for _, span in spans if span.trace_id == request.trace_id]
    sql = [span for span in in_trace if "db.system" in _attributes(span) or "db.system.name" in _attributes(span)]
    calls = [span for span in in_trace if span.kind == Span.SPAN_KIND_CLIENT and span not in sql]
    assert any(_attributes(span).get("db.statement", "").lstrip().upper().startswith("SELECT") for span in sql), [
        span.name for span in in_trace
    ]
    called = [str(_attributes(span).get("http.url", _attributes(span).get("url.full", ""))) for span in calls]
    assert any(url.startswith(location_url) for url in called), called


def test_tracing_leaves_no_global_tracer_provider_behind(own_database_url: str, collector: Collector) -> None:
    settings = Settings(
        database_url=own_database_url,
        demo_network=False,
        simulate_locations=False,
        otel_enabled=True,
        otel_endpoint=collector.url,
        **LIVE_SETTINGS,
    )
    gateway = start_gateway(settings)
    try:
        assert httpx.get(f"{gateway.url}/health/live").status_code == 200
    finally:
        stop_gateway(gateway)
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    with collector.lock:
        paths = [_attributes(span).get("http.target", _attributes(span).get("url.path")) for _, span in collector.spans]
    assert "/health/live" in paths
