"""GET /metrics on a gateway of this module's own, behind a metrics token: what a location going down, a write
waiting in the outbox, a sync job, a conflict and a subscriber do to the metrics.

Its own gateway because these tests change the network (a simulated location stops, jobs run, conflicts are
recorded); each still reads what moved between two scrapes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from live_helpers import customer_known_at, wait_for
from metrics_helpers import Scrape, moved, parse
from pydantic import SecretStr
from sqlalchemy import select
from sync_helpers import local_customer_id, settle, trigger
from ws_helpers import GraphQLSocket

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from settings import RateLimit, Settings, default_rate_limits
from sources.cache.models import StockLevel

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
OPERATION_NAME_LIMIT = 12
A, B, DOWN = "manchester-central", "stockport-merseyway", "dublin-ranelagh"

ADJUST_STOCK = """
mutation MetricsAdjust($input: AdjustStockInput!) {
  adjustStock(input: $input) { outcomes { locationId status code } errors { code message } }
}
"""

ANONYMOUS_BURST = "query MetricsAnonymousBurst { __typename }"

SYNC_EVENTS = """
subscription MetricsSyncWatch($locationId: ID) {
  syncEvents(locationId: $locationId) { jobId phase entityType }
}
"""


@pytest.fixture(scope="module")
def metered(own_database_url: str) -> Iterator[RunningGateway]:
    settings = Settings(
        database_url=own_database_url,
        demo_network=True,
        metrics_token=SecretStr(METRICS_TOKEN),
        metrics_max_operation_names=OPERATION_NAME_LIMIT,
        # Anonymous callers get one request, then wait a minute: what a refusal by the rate limit looks like.
        rate_limits={**default_rate_limits(), "anonymous": RateLimit(per_minute=1, burst=1)},
        **LIVE_SETTINGS,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def scrape(gateway: RunningGateway) -> Scrape:
    response = httpx.get(f"{gateway.url}/metrics", headers=SCRAPER, timeout=60)
    assert response.status_code == 200, response.text
    return parse(response.text)


def breaker(gateway: RunningGateway, location_id: str) -> str:
    states = scrape(gateway).samples
    return next(
        dict(labels)["gateway_connector_circuit_state"]
        for (name, labels), value in states.items()
        if name == "gateway_connector_circuit_state" and dict(labels)["location"] == location_id and value == 1
    )


def stock_item_at(gateway: RunningGateway, location_id: str) -> str:
    async def item() -> str:
        async with gateway.engine.connect() as connection:
            rows = await connection.execute(
                select(StockLevel.item_id).where(StockLevel.location_id == location_id).order_by(StockLevel.item_id)
            )
            return str(rows.scalars().first())

    return gateway.run(item())


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-the-token", f"Basic {METRICS_TOKEN}", METRICS_TOKEN],
    ids=["none", "wrong-token", "other-scheme", "no-scheme"],
)
def test_with_a_metrics_token_a_scrape_without_it_is_refused(
    metered: RunningGateway, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = httpx.get(f"{metered.url}/metrics", headers=headers, timeout=60)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "gateway_" not in response.text
    # Not even the gateway's admin token opens it: scraping is the metrics token's alone.
    assert httpx.get(f"{metered.url}/metrics", headers=metered.headers, timeout=60).status_code == 401
    assert httpx.get(f"{metered.url}/metrics", headers=SCRAPER, timeout=60).status_code == 200


def test_a_location_that_is_down_shows_in_connector_errors_its_circuit_and_the_outbox(
    metered: RunningGateway,
) -> None:
    simulator = metered.simulator(DOWN)
    item = stock_item_at(metered, DOWN)
    variables = {
        "idempotencyKey": uuid.uuid4().hex,
        "itemId": f"StockItem:{item}",
        "locationId": f"Location:{DOWN}",
        "delta": 3,
        "reason": "restock",
    }
    before = scrape(metered)
    assert breaker(metered, DOWN) == "closed"
    metered.run(simulator.stop())
    try:
        result = metered.graphql(ADJUST_STOCK, {"input": variables})["data"]["adjustStock"]
        queued = scrape(metered)
        assert [o["status"] for o in result["outcomes"]] == ["QUEUED"]
        wait_for(lambda: breaker(metered, DOWN) != "closed", what="the circuit to open")
        wait_for(
            lambda: moved(before, scrape(metered), "gateway_outbox_dead_letters", location=DOWN) == 1,
            what="the write to be dead-lettered",
        )
    finally:
        metered.run(simulator.start())
    dead = scrape(metered)
    wait_for(lambda: breaker(metered, DOWN) == "closed", what="the circuit to close again")

    assert moved(before, queued, "gateway_outbox_pending_messages", location=DOWN) == 1
    stock_call = {"location": DOWN, "operation": "change_stock"}
    # The mutation's own call failed (the worker may have retried once already): every call failed, each timed.
    calls = moved(before, queued, "gateway_connector_calls_total", **stock_call)
    assert calls >= 1
    assert moved(before, queued, "gateway_connector_errors_total", **stock_call) == calls
    assert moved(before, queued, "gateway_connector_call_duration_seconds_count", **stock_call) == calls
    # The heartbeat kept asking and kept failing, and the outbox's retries too.
    assert moved(before, dead, "gateway_connector_errors_total", location=DOWN, operation="check_health") >= 1
    assert moved(before, dead, "gateway_connector_errors_total", location=DOWN) >= 4
    assert moved(before, dead, "gateway_outbox_pending_messages", location=DOWN) == 0
    # The mutation itself answered: its outcome is ok, the location's failure is its payload's.
    mutation = {"type": "mutation", "outcome": "ok", "code": "none"}
    assert moved(before, queued, "gateway_graphql_requests_total", **mutation) == 1
    # Other locations were not affected.
    assert moved(before, dead, "gateway_connector_errors_total", location=A) == 0


def test_a_sync_job_is_timed_and_a_subscriber_is_counted_and_sent_its_events(metered: RunningGateway) -> None:
    settle(metered)
    before = scrape(metered)
    with GraphQLSocket(metered.url, token=metered.admin_token) as socket:
        operation = socket.subscribe(SYNC_EVENTS, {"locationId": f"Location:{B}"})
        wait_for(lambda: moved(before, scrape(metered), "gateway_subscribers") == 1, what="the subscriber")

        job = trigger(metered, B, ["CUSTOMER", "BOOKING"])
        events = [socket.next(operation)["syncEvents"] for _ in range(4)]

        during = scrape(metered)
    wait_for(lambda: moved(before, scrape(metered), "gateway_subscribers") == 0, what="the subscriber to go")

    assert job["status"] == "COMPLETED"
    assert [e["phase"] for e in events] == ["STARTED", "PROGRESS", "PROGRESS", "COMPLETED"]
    assert moved(before, during, "gateway_subscription_events_sent_total", topic="sync.job") == 4
    assert moved(before, during, "gateway_subscription_events_dropped_total") == 0
    timed = {"location": B, "outcome": "completed"}
    assert moved(before, during, "gateway_sync_job_duration_seconds_count", **timed) == 1
    assert moved(before, during, "gateway_sync_job_duration_seconds_sum", **timed) > 0
    assert moved(before, during, "gateway_connector_calls_total", location=B, operation="pull_changes") >= 2


def test_simultaneous_edits_at_two_locations_count_one_conflict_detected(metered: RunningGateway) -> None:
    settle(metered)
    customer_id = customer_known_at(metered, A, B, offset=2)
    at_a, at_b = local_customer_id(metered, customer_id, A), local_customer_id(metered, customer_id, B)
    before = scrape(metered)

    metered.store(A).edit_customer(at_a, phone="+44 7700 900301")
    metered.store(B).edit_customer(at_b, phone="+44 7700 900302")
    trigger(metered, A, ["CUSTOMER"])
    trigger(metered, B, ["CUSTOMER"])
    settle(metered)

    after = scrape(metered)
    assert moved(before, after, "gateway_sync_conflicts_detected_total", entity_type="customer") == 1
    assert moved(before, after, "gateway_sync_conflicts_detected_total", entity_type="booking") == 0


def test_operation_names_past_the_limit_share_one_series(metered: RunningGateway) -> None:
    before = scrape(metered)

    for number in range(OPERATION_NAME_LIMIT + 5):
        assert "errors" not in metered.graphql(f"query MetricsFresh{number} {{ __typename }}")

    after = scrape(metered)
    names = after.label_values("gateway_graphql_requests_total", "operation")
    assert len(names - {"anonymous", "invalid", "other"}) <= OPERATION_NAME_LIMIT
    assert moved(before, after, "gateway_graphql_requests_total", operation="other") >= 5
    assert (
        moved(before, after, "gateway_graphql_requests_total", type="query", outcome="ok") == OPERATION_NAME_LIMIT + 5
    )


def test_an_operation_over_the_callers_rate_limit_is_counted_as_refused(metered: RunningGateway) -> None:
    before = scrape(metered)

    bodies = [metered.graphql(ANONYMOUS_BURST, headers={}) for _ in range(3)]

    limited = [body for body in bodies if body.get("errors")]
    assert limited and all(body["errors"][0]["extensions"]["code"] == "RATE_LIMITED" for body in limited)
    after = scrape(metered)
    # By outcome, not name: the names test may have used up this gateway's names (this one may count as other).
    refused = {"type": "query", "outcome": "refused", "code": "RATE_LIMITED"}
    assert moved(before, after, "gateway_graphql_requests_total", **refused) == len(limited)
    answered = {"type": "query", "outcome": "ok"}
    assert moved(before, after, "gateway_graphql_requests_total", **answered) == len(bodies) - len(limited)
    # Timed too, under its own outcome: a refusal's time never skews the answers' latency.
    assert moved(before, after, "gateway_graphql_request_duration_seconds_count", outcome="refused") == len(limited)
