"""GET /metrics on the demo gateway: GraphQL operations by name and outcome, REST shim requests by route template.

Each test reads what moved between a scrape before and one after what it does, so the shared session gateway
serves (nothing else sends it GraphQL or REST requests meanwhile).
"""

from __future__ import annotations

import httpx
from metrics_helpers import moved, scrape

from conftest import RunningGateway

LOCATION_COUNT = "query MetricsLocationCount { locations { totalCount } }"
ANONYMOUS_COUNT = "{ locations { totalCount } }"
MALFORMED_ID = 'query MetricsMalformedId { node(id: "12345") { id } }'
UNKNOWN_FIELD = "query MetricsUnknownField { noSuchField }"
NOT_GRAPHQL = "query MetricsBroken { locations { "

FAMILIES = {
    "gateway_graphql_requests",
    "gateway_graphql_request_duration_seconds",
    "gateway_http_requests",
    "gateway_http_request_duration_seconds",
    "gateway_connector_calls",
    "gateway_connector_errors",
    "gateway_connector_call_duration_seconds",
    "gateway_connector_circuit_state",
    "gateway_outbox_pending_messages",
    "gateway_outbox_dead_letters",
    "gateway_sync_job_duration_seconds",
    "gateway_sync_conflicts_detected",
    "gateway_subscribers",
    "gateway_subscription_events_sent",
    "gateway_subscription_events_dropped",
}
BOOKING_ROUTE = "/api/booking-engine/bookings/{booking_id}"


def post(gateway: RunningGateway, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/graphql", json=body, headers=gateway.headers, timeout=60)


def test_metrics_are_open_by_default_and_every_metric_is_described(gateway: RunningGateway) -> None:
    response = httpx.get(f"{gateway.url}/metrics", timeout=60)  # no credentials at all

    assert response.status_code == 200
    openmetrics = httpx.get(f"{gateway.url}/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=60)
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")
    metrics = scrape(gateway)
    assert set(metrics.helps) >= FAMILIES, FAMILIES - set(metrics.helps)
    assert all(metrics.helps[name] for name in FAMILIES)
    # Every demo location has a circuit, an outbox depth (0 when nothing waits) and its breaker reads closed.
    locations = metrics.label_values("gateway_connector_circuit_state", "location")
    assert "manchester-central" in locations
    assert metrics.label_values("gateway_outbox_pending_messages", "location") >= locations
    state = {"location": "manchester-central", "gateway_connector_circuit_state": "closed"}
    assert metrics.total("gateway_connector_circuit_state", **state) == 1


def test_a_named_query_is_counted_and_timed_under_its_name_and_an_anonymous_one_as_anonymous(
    gateway: RunningGateway,
) -> None:
    before = scrape(gateway)

    for _ in range(3):
        assert gateway.graphql(LOCATION_COUNT)["data"]["locations"]["totalCount"] > 0
    assert "errors" not in gateway.graphql(ANONYMOUS_COUNT)

    after = scrape(gateway)
    named = {"operation": "MetricsLocationCount", "type": "query", "outcome": "ok", "code": "none"}
    assert moved(before, after, "gateway_graphql_requests_total", **named) == 3
    timed = {"operation": "MetricsLocationCount", "type": "query", "outcome": "ok"}
    assert moved(before, after, "gateway_graphql_request_duration_seconds_count", **timed) == 3
    assert moved(before, after, "gateway_graphql_request_duration_seconds_sum", **timed) > 0
    assert moved(before, after, "gateway_graphql_requests_total", operation="anonymous", outcome="ok") == 1
    # Never the query text as a label.
    assert not any("{" in value for value in after.all_label_values())


def test_a_query_that_fails_is_counted_by_the_code_its_caller_got(gateway: RunningGateway) -> None:
    before = scrape(gateway)

    body = gateway.graphql(MALFORMED_ID)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_ID"]
    after = scrape(gateway)
    failed = {"operation": "MetricsMalformedId", "type": "query", "outcome": "error", "code": "INVALID_ID"}
    assert moved(before, after, "gateway_graphql_requests_total", **failed) == 1
    assert moved(before, after, "gateway_graphql_requests_total", operation="MetricsMalformedId", outcome="ok") == 0


def test_operations_that_never_run_are_counted_as_refused_with_their_code(gateway: RunningGateway) -> None:
    before = scrape(gateway)

    unknown = post(gateway, {"query": UNKNOWN_FIELD}).json()
    broken = post(gateway, {"query": NOT_GRAPHQL}).json()

    assert unknown["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert broken["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    after = scrape(gateway)
    invalid = {"operation": "MetricsUnknownField", "outcome": "refused", "code": "GRAPHQL_VALIDATION_FAILED"}
    assert moved(before, after, "gateway_graphql_requests_total", **invalid) == 1
    # A document that does not parse names no operation the gateway could trust.
    unparsed = {"operation": "anonymous", "type": "unknown", "outcome": "refused", "code": "GRAPHQL_PARSE_FAILED"}
    assert moved(before, after, "gateway_graphql_requests_total", **unparsed) == 1


def test_an_operation_name_that_is_not_a_graphql_name_is_never_a_label(gateway: RunningGateway) -> None:
    before = scrape(gateway)
    chosen = "DROP TABLE bookings; --" + "x" * 200

    response = post(gateway, {"query": LOCATION_COUNT, "operationName": chosen})

    assert response.status_code == 400 or "errors" in response.json()  # no such operation in the document
    after = scrape(gateway)
    assert moved(before, after, "gateway_graphql_requests_total", operation="invalid") == 1
    assert chosen not in after.all_label_values()


def test_rest_shim_requests_are_counted_by_route_template_and_status(gateway: RunningGateway) -> None:
    before = scrape(gateway)
    raw_path = "/api/booking-engine/bookings/bkg_metrics_nowhere"

    found = httpx.get(f"{gateway.url}{raw_path}", headers=gateway.headers, timeout=60)
    refused = httpx.get(f"{gateway.url}{raw_path}", timeout=60)  # no credentials

    after = scrape(gateway)
    route = {"method": "GET", "route": BOOKING_ROUTE}
    assert moved(before, after, "gateway_http_requests_total", **route, status=str(found.status_code)) == 1
    assert moved(before, after, "gateway_http_requests_total", **route, status=str(refused.status_code)) == 1
    assert refused.status_code == 401 and found.status_code != 401
    assert moved(before, after, "gateway_http_request_duration_seconds_count", **route) == 2
    assert raw_path not in after.all_label_values()
    unmatched = httpx.get(f"{gateway.url}/no/such/path/42", timeout=60)
    assert unmatched.status_code == 404
    last = scrape(gateway)
    assert moved(after, last, "gateway_http_requests_total", route="unmatched", status="404") == 1


def test_a_graphql_request_refused_before_it_is_parsed_is_counted_by_the_http_metrics(gateway: RunningGateway) -> None:
    before = scrape(gateway)

    response = httpx.post(
        f"{gateway.url}/graphql",
        json={"query": LOCATION_COUNT},
        headers={"Authorization": "Bearer not-a-token"},
        timeout=60,
    )

    assert response.status_code == 401
    after = scrape(gateway)
    assert moved(before, after, "gateway_http_requests_total", method="POST", route="/graphql", status="401") == 1
    # GraphQL never saw it: no operation was counted.
    assert moved(before, after, "gateway_graphql_requests_total") == 0
