"""The Node peer of bench.dashboard answers the dashboard query exactly as the gateway does, with the same 7
statements: its ratios in the bench compare like with like, and it cannot drift from the gateway unseen."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.queries import DASHBOARD_QUERY
from bench.report import first_difference
from bench.servers import Server, running_peer
from conftest import RunningGateway, start_gateway, stop_gateway
from settings import Settings

# page + count + customers + services + resources + locations + revenue entries, as the gateway and the floor
DASHBOARD_STATEMENTS = 7

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="the bench's Node peer needs node and npm (Node.js 20+), which are not installed",
)


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-peer") / "cache.sqlite3"


@pytest.fixture(scope="module")
def demo_gateway(cache_file: Path) -> Iterator[RunningGateway]:
    """The gateway whose start-up migrates the file and loads the demo network, as bench.dashboard's does
    (without the pull scheduler, so nothing changes the cache between the two answers)."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{cache_file}", demo_network=True, sync_scheduler=False)
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture(scope="module")
def peer(demo_gateway: RunningGateway, cache_file: Path) -> Iterator[Server]:
    """bench/peer installed by its install.sh (npm ci when missing or stale) and served on the same file."""
    with running_peer("peer", cache_file, cache_file.parent, pin=False, log_sql=True) as server:
        yield server


def peer_answer(peer: Server, first: int) -> dict[str, Any]:
    response = httpx.post(
        f"http://127.0.0.1:{peer.port}/graphql",
        json={"query": DASHBOARD_QUERY, "variables": {"first": first}},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def statements_logged(peer: Server) -> int:
    return sum(line.startswith("sql: ") for line in peer.log_path.read_text().splitlines())


@pytest.mark.parametrize("first", [50, 200])
def test_peer_answers_the_dashboard_query_with_the_gateways_data(
    demo_gateway: RunningGateway, peer: Server, first: int
) -> None:
    expected = demo_gateway.graphql(DASHBOARD_QUERY, {"first": first})
    assert "errors" not in expected, expected

    answer = peer_answer(peer, first)

    assert "errors" not in answer, answer
    assert len(answer["data"]["bookings"]["edges"]) == first
    difference = first_difference(expected["data"], answer["data"])
    assert difference is None, difference


def test_peer_runs_the_gateways_seven_statements_for_the_dashboard_query(peer: Server) -> None:
    before = statements_logged(peer)

    peer_answer(peer, 50)

    assert statements_logged(peer) - before == DASHBOARD_STATEMENTS
