"""Liveness and readiness as a process manager or a load balancer asks them: live while the process answers,
ready only while the database answers and its migrations are at the code's head."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from conftest import RunningGateway, start_gateway, stop_gateway
from settings import Settings
from sources.cache import migrate
from sources.cache.database import create_engine

HEAD = sorted(migrate.head_revisions())
# The revision before the newest: what a database is at when the code was upgraded but `migrate` not run yet.
BEHIND = "0007"


async def _migrate_to(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def behind_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A gateway that does not migrate on start, over a database one migration behind the code."""
    asyncio.run(_migrate_to(own_database_url, BEHIND))
    settings = Settings(
        database_url=own_database_url,
        migrate_on_start=False,
        demo_network=False,
        simulate_locations=False,
        sync_scheduler=False,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def test_the_demo_gateway_is_live_and_ready_at_head(gateway: RunningGateway) -> None:
    live = httpx.get(f"{gateway.url}/health/live")
    ready = httpx.get(f"{gateway.url}/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "migrations": {"head": HEAD}}


def test_a_database_behind_the_code_is_live_but_not_ready_until_migrated(behind_gateway: RunningGateway) -> None:
    assert BEHIND not in HEAD
    ready = httpx.get(f"{behind_gateway.url}/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "reason": "the database's migrations are not at head: run `python server.py migrate`",
        "database": "ok",
        "migrations": {"database": [BEHIND], "head": HEAD},
    }
    assert httpx.get(f"{behind_gateway.url}/health/live").status_code == 200
    # The check from before the two still answers as documented: the database answers.
    assert httpx.get(f"{behind_gateway.url}/health").json() == {"status": "ok", "database": "ok"}

    behind_gateway.run(migrate.upgrade(behind_gateway.engine))

    ready = httpx.get(f"{behind_gateway.url}/health/ready")
    assert (ready.status_code, ready.json()["migrations"]) == (200, {"head": HEAD})
    assert httpx.get(f"{behind_gateway.url}/health/live").status_code == 200


def test_health_checks_need_no_credentials_and_answer_nothing_but_their_status(gateway: RunningGateway) -> None:
    for path in ("/health", "/health/live", "/health/ready"):
        response = httpx.get(f"{gateway.url}{path}", headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) <= {"status", "database", "migrations"}
