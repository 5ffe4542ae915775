"""The gateway's Prometheus metrics: one registry and its metric objects per app, and the label rules that keep
their cardinality bounded.

Nothing here is module-level state: the app's lifespan builds one `Metrics` and hands it to what records (the
GraphQL extension, the HTTP middleware, the connector registry, the event bus, the sync engine); a component built
without one (a test, a benchmark) makes its own, recording into a private registry nobody scrapes. Gauges that
come from the database or from live objects (outbox depth, circuit breakers, subscribers) are set by the
`/metrics` endpoint just before it renders the registry, never by a polling task.

Every label value comes from a bounded set: route templates (never raw paths), error codes, connector operations,
location ids (configuration), event topics, and client-chosen operation names through `OperationNames`.
"""

from __future__ import annotations

import re
import threading

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

ANONYMOUS_OPERATION = "anonymous"
# A name that is not a GraphQL Name, or one longer than the limit: never a label as it came.
INVALID_OPERATION = "invalid"
# A new name once `max_operation_names` different ones have been seen: the label set stops growing.
OTHER_OPERATION = "other"
MAX_OPERATION_NAME_LENGTH = 64
_GRAPHQL_NAME = re.compile(rf"[_A-Za-z][_0-9A-Za-z]{{0,{MAX_OPERATION_NAME_LENGTH - 1}}}")

BREAKER_STATES = ["closed", "open", "half_open"]
# Seconds: GraphQL and REST answers, calls to locations (timeouts are seconds), sync jobs (minutes at most).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SYNC_JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class OperationNames:
    """Client-chosen operation names as labels: anonymous, validated, clipped, and at most `limit` of them.

    The first `limit` valid names seen keep their own series; later new ones share `other`, so a client
    sending a fresh name per request cannot grow the registry without bound.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS_OPERATION
        if not _GRAPHQL_NAME.fullmatch(name):
            return INVALID_OPERATION
        if name in self._seen:
            return name
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER_OPERATION
            self._seen.add(name)
        return name


class Metrics:
    """The metric objects of one gateway app, in a registry of their own."""

    def __init__(self, *, max_operation_names: int = 200) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operation_names = OperationNames(max_operation_names)
        registry = self.registry
        # -- GraphQL (schema.metrics.MetricsExtension) --
        self.graphql_requests = Counter(
            "gateway_graphql_requests",
            "GraphQL operations by name, type and outcome (ok, error, refused: not executed) with the first "
            "error's code",
            ["operation", "type", "outcome", "code"],
            registry=registry,
        )
        self.graphql_duration = Histogram(
            "gateway_graphql_request_duration_seconds",
            "Time from receiving a GraphQL query or mutation to its answer (subscriptions are not timed)",
            ["operation", "type", "outcome"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        # -- HTTP: the REST shims and every other route, by route template (observability.http_metrics) --
        self.http_requests = Counter(
            "gateway_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "gateway_http_request_duration_seconds",
            "Time from an HTTP request to the end of its response, by method and route template",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        # -- connectors (sources.connectors.measured) --
        self.connector_calls = Counter(
            "gateway_connector_calls",
            "Calls to a location through its connector, by location and connector operation",
            ["location", "operation"],
            registry=registry,
        )
        self.connector_errors = Counter(
            "gateway_connector_errors",
            "Connector calls that failed, by location, operation and kind (unavailable, circuit_open, rejected, "
            "not_supported, error)",
            ["location", "operation", "error"],
            registry=registry,
        )
        self.connector_duration = Histogram(
            "gateway_connector_call_duration_seconds",
            "Time a connector call took, retries included, by location and operation",
            ["location", "operation"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.breaker_state = Enum(
            "gateway_connector_circuit_state",
            "Each location's circuit breaker as its connector sees it at the scrape",
            ["location"],
            states=BREAKER_STATES,
            registry=registry,
        )
        # -- outbox (read from the database at each scrape) --
        self.outbox_pending = Gauge(
            "gateway_outbox_pending_messages",
            "Writes waiting in the outbox to be delivered, per location",
            ["location"],
            registry=registry,
        )
        self.outbox_dead = Gauge(
            "gateway_outbox_dead_letters",
            "Writes the outbox gave up on (dead letters, replayable), per location",
            ["location"],
            registry=registry,
        )
        # -- sync (sync.pull.engine) --
        self.sync_job_duration = Histogram(
            "gateway_sync_job_duration_seconds",
            "How long sync jobs this process ran took, per location and outcome (completed, failed)",
            ["location", "outcome"],
            buckets=SYNC_JOB_BUCKETS,
            registry=registry,
        )
        self.conflicts_detected = Counter(
            "gateway_sync_conflicts_detected",
            "Conflicts detected between a location's change and the network's, per location and entity type",
            ["location", "entity_type"],
            registry=registry,
        )
        # -- subscriptions (subscriptions.bus) --
        self.subscribers = Gauge(
            "gateway_subscribers",
            "Subscriptions open on this process's event bus at the scrape",
            registry=registry,
        )
        self.events_sent = Counter(
            "gateway_subscription_events_sent",
            "Events handed to a subscriber, per topic",
            ["topic"],
            registry=registry,
        )
        self.events_dropped = Counter(
            "gateway_subscription_events_dropped",
            "Events a subscriber lost (its queue was full, or they never reached this process), per topic",
            ["topic"],
            registry=registry,
        )
        # -- response cache --
        # No response cache exists yet. When it does, its hits and misses are a Counter here,
        # "gateway_response_cache_lookups" with a "result" label (hit, miss), recorded by the cache extension.

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper's Accept header asks for (OpenMetrics when it says so, the
        Prometheus text format otherwise), and that format's content type."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type
