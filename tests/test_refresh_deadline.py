"""A live refresh keeps one deadline: a location that answers late is served from cache and named, not waited for."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from settings import Settings

CUSTOMERS_LIVE = "{ customers(first: 1, maxAge: 0) { totalCount } }"
# Far enough that the other locations answer inside it on a loaded machine; the slow one takes five times as long.
DEADLINE = 4.0
SLOW = "leeds-headingley"


@pytest.fixture(scope="module")
def deadline_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    # A connector timeout well past the deadline, with its retries: only the refresh's deadline can cut it short.
    settings = {**LIVE_SETTINGS, "connector_timeout_seconds": 5.0, "heartbeat_seconds": 60.0}
    running = start_gateway(
        Settings(database_url=own_database_url, demo_network=True, live_refresh_deadline_seconds=DEADLINE, **settings)
    )
    try:
        yield running
    finally:
        stop_gateway(running)


def test_a_location_answering_after_the_deadline_is_served_from_cache_and_named(
    deadline_gateway: RunningGateway,
) -> None:
    slow = deadline_gateway.simulator(SLOW)
    slow.controls.latency_seconds = 20.0
    try:
        started = time.monotonic()
        answer = deadline_gateway.graphql(CUSTOMERS_LIVE)
        took = time.monotonic() - started
    finally:
        slow.controls.latency_seconds = 0.0

    assert "errors" not in answer, answer
    assert answer["data"]["customers"]["totalCount"] > 0
    assert took < DEADLINE + 3.0, took  # not 20 s, nor three retried calls at the connector's 5 s
    freshness = answer["extensions"]["freshness"]
    late = freshness[SLOW]["customers"]
    assert late["source"] == "cache"
    assert "deadline" in late["error"]
    others = [entry["customers"] for location_id, entry in freshness.items() if location_id != SLOW]
    assert any(entry["source"] == "live" for entry in others), freshness
    assert all(entry["error"] is None for entry in others), freshness
