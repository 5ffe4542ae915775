"""/api/admin/booksy/: the Booksy location's sync, conflicts, operations, consents, revenue and errors, for the
network's admins (and the location's manager); customers and staff are refused and change nothing."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cache_helpers import count, scalar
from live_helpers import customer_known_at
from sqlalchemy import func, select
from sync_helpers import eventually, local_customer_id, settle, trigger

from conftest import RunningGateway
from identity.principal import Role
from sources.cache.models import Booking, Conflict, SyncJob
from sync.conflicts.detect import ConflictPolicy
from sync.types import Strategy

LEEDS = "leeds-headingley"  # the demo's Booksy (platform) location
MANCHESTER = "manchester-central"
ADMIN = "/api/admin/booksy"
READS = [
    "sync-status",
    "health",
    "conflicts",
    "operations",
    "consent-records",
    "reconciliation?from=2026-01-01&to=2026-12-31",
    "errors",
]


def _token(gateway: RunningGateway, role: Role, **claims: Any) -> dict[str, str]:
    authenticator = gateway.app.state.authenticator
    token = gateway.run(authenticator.issue(role, subject=f"test-{role.value}", **claims))
    return {"Authorization": f"Bearer {token}"}


def _get(gateway: RunningGateway, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(
        f"{gateway.url}{ADMIN}/{path}", headers=gateway.headers if headers is None else headers, timeout=30
    )


def _post(
    gateway: RunningGateway, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}{ADMIN}/{path}", json=body, headers=gateway.headers if headers is None else headers, timeout=30
    )


def _jobs(gateway: RunningGateway) -> int:
    return count(gateway, SyncJob, SyncJob.location_id == LEEDS)


def _job(gateway: RunningGateway, job_id: str) -> Any:
    async def read() -> Any:
        async with gateway.engine.connect() as connection:
            return (await connection.execute(select(SyncJob).where(SyncJob.id == job_id))).one()

    return gateway.run(read())


@pytest.fixture(scope="module")
def people(live_gateway: RunningGateway) -> dict[str, dict[str, str]]:
    """Tokens of the roles that must be refused, and of the location managers."""
    customer_id = str(scalar(live_gateway, select(Booking.customer_id).where(Booking.service_location_id == LEEDS)))
    resource_id = str(
        scalar(live_gateway, select(Booking.resource_id).where(Booking.service_location_id == LEEDS).limit(1))
    )
    return {
        "customer": _token(live_gateway, Role.CUSTOMER, customer_id=customer_id),
        "shared_staff": _token(live_gateway, Role.SHARED_STAFF, locations=[LEEDS], resource_id=resource_id),
        "franchisee": _token(live_gateway, Role.FRANCHISEE, locations=[LEEDS]),
        "leeds_manager": _token(live_gateway, Role.LOCATION_MANAGER, locations=[LEEDS]),
        "manchester_manager": _token(live_gateway, Role.LOCATION_MANAGER, locations=[MANCHESTER]),
        "hub_admin": _token(live_gateway, Role.HUB_ADMINISTRATOR),
    }


@pytest.fixture
def slow_leeds(live_gateway: RunningGateway) -> Iterator[None]:
    """The simulated platform answers slowly, so a job started now is still running a moment later."""
    controls = live_gateway.simulator(LEEDS).controls
    controls.latency_seconds = 0.4
    try:
        yield
    finally:
        controls.latency_seconds = 0.0
        settle(live_gateway)


def test_every_read_answers_a_network_admin_about_the_booksy_location(live_gateway: RunningGateway) -> None:
    for path in READS:
        answer = _get(live_gateway, path)
        assert answer.status_code == 200, (path, answer.text)
    status = _get(live_gateway, "sync-status").json()["locations"]
    assert [entry["health"]["location_id"] for entry in status] == [LEEDS]
    assert status[0]["health"]["breaker"] in {"closed", "open", "half_open"}
    health = _get(live_gateway, "health").json()["locations"]
    assert [entry["location_id"] for entry in health] == [LEEDS]
    consents = _get(live_gateway, "consent-records?first=2").json()
    assert consents["location_id"] == LEEDS and len(consents["consent_records"]) == 2
    following = _get(live_gateway, f"consent-records?first=2&after={consents['page']['next_cursor']}").json()
    first_ids = {record["customer_id"] for record in consents["consent_records"]}
    assert first_ids.isdisjoint(record["customer_id"] for record in following["consent_records"])
    reconciliation = _get(live_gateway, "reconciliation?from=2026-01-01&to=2026-12-31").json()
    assert reconciliation["location_id"] == LEEDS and reconciliation["from"] == "2026-01-01"
    for total in reconciliation["totals"]:
        assert total["difference_minor"] == total["revenue_minor"] - total["bookings_minor"]


def test_a_hub_admin_and_the_locations_manager_may_read_it_and_another_locations_manager_sees_none(
    live_gateway: RunningGateway, people: dict[str, dict[str, str]]
) -> None:
    for who in ("hub_admin", "leeds_manager"):
        answer = _get(live_gateway, "sync-status", people[who])
        assert answer.status_code == 200, answer.text
        assert [entry["health"]["location_id"] for entry in answer.json()["locations"]] == [LEEDS]
    elsewhere = people["manchester_manager"]
    assert _get(live_gateway, "sync-status", elsewhere).json() == {"locations": []}
    named = _get(live_gateway, f"sync-status?location={LEEDS}", elsewhere)
    assert named.status_code == 404 and named.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("who", ["customer", "shared_staff", "franchisee"])
def test_customers_staff_and_franchisees_are_refused_and_no_job_starts(
    live_gateway: RunningGateway, people: dict[str, dict[str, str]], who: str
) -> None:
    headers = people[who]
    jobs = _jobs(live_gateway)
    for path in READS:
        answer = _get(live_gateway, path, headers)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "FORBIDDEN"
    started = _post(live_gateway, "full-sync", {}, headers)
    assert started.status_code == 403 and started.json()["error"]["code"] == "FORBIDDEN"
    resolved = _post(live_gateway, "conflicts/cfl-none/resolve", {"choice": "source"}, headers)
    assert resolved.status_code == 403
    assert _jobs(live_gateway) == jobs


def test_no_token_is_unauthenticated(live_gateway: RunningGateway) -> None:
    answer = _get(live_gateway, "sync-status", {})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "UNAUTHENTICATED"


def test_full_sync_runs_a_full_job_against_the_simulated_platform_and_refuses_a_second_while_it_runs(
    live_gateway: RunningGateway, slow_leeds: None
) -> None:
    settle(live_gateway)
    answer = _post(live_gateway, "full-sync")
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert (started["location_id"], started["status"], started["full"]) == (LEEDS, "running", True)
    again = _post(live_gateway, "full-sync", {"location_id": LEEDS})
    assert again.status_code == 409 and again.json()["error"]["code"] == "SYNC_IN_PROGRESS"

    def ended() -> Any:
        row = _job(live_gateway, started["job_id"])
        return None if row.status == "running" else row

    job = eventually(ended, 30, "the full sync to end")
    assert (job.status, job.full, job.trigger) == ("completed", True, "manual")
    assert job.pulled_count > 0
    operations = _get(live_gateway, "operations?first=5").json()
    assert started["job_id"] in [j["id"] for j in operations["sync_jobs"]]
    status = _get(live_gateway, "sync-status").json()["locations"][0]
    assert {e["entity_type"] for e in status["entities"]} >= {"customers", "bookings"}
    assert any(e["last_job_id"] == started["job_id"] and e["last_operation"] == "full" for e in status["entities"])


def test_a_full_sync_of_a_location_that_is_not_booksy_is_not_found(live_gateway: RunningGateway) -> None:
    jobs_elsewhere = scalar(live_gateway, select(func.count()).select_from(SyncJob))
    answer = _post(live_gateway, "full-sync", {"location_id": MANCHESTER})
    assert answer.status_code == 404, answer.text
    assert scalar(live_gateway, select(func.count()).select_from(SyncJob)) == jobs_elsewhere


def test_a_pending_conflict_at_the_booksy_location_is_listed_and_resolved_once(
    live_gateway: RunningGateway, people: dict[str, dict[str, str]]
) -> None:
    rule_book = live_gateway.app.state.services.sync.rule_book
    rules = rule_book.current
    rule_book.current = dataclasses.replace(rules, policy=ConflictPolicy(Strategy.MANUAL))
    try:
        customer_id = customer_known_at(live_gateway, LEEDS, MANCHESTER)
        at_leeds = local_customer_id(live_gateway, customer_id, LEEDS)
        at_manchester = local_customer_id(live_gateway, customer_id, MANCHESTER)
        live_gateway.store(MANCHESTER).edit_customer(at_manchester, last_name="Manchester")
        live_gateway.store(LEEDS).edit_customer(at_leeds, last_name="Leeds")
        trigger(live_gateway, MANCHESTER, ["CUSTOMER"])
        trigger(live_gateway, LEEDS, ["CUSTOMER"])
    finally:
        rule_book.current = rules
    listed = _get(live_gateway, "conflicts?status=pending").json()
    [conflict] = [c for c in listed["conflicts"] if c["entity_id"] == customer_id]
    assert LEEDS in (conflict["source_location_id"], conflict["target_location_id"])
    # A location manager may look, not settle.
    refused = _post(live_gateway, f"conflicts/{conflict['id']}/resolve", {"choice": "source"}, people["leeds_manager"])
    assert refused.status_code == 403
    assert scalar(live_gateway, select(Conflict.status).where(Conflict.id == conflict["id"])) == "pending"
    resolved = _post(live_gateway, f"conflicts/{conflict['id']}/resolve", {"choice": "source"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    twice = _post(live_gateway, f"conflicts/{conflict['id']}/resolve", {"choice": "target"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "CONFLICT"
    settle(live_gateway)


def test_a_refused_webhook_shows_among_the_errors(live_gateway: RunningGateway) -> None:
    sent = httpx.post(f"{live_gateway.url}/api/webhooks/booksy", params={"location": LEEDS}, content=b"{}")
    assert sent.status_code == 401
    deadline = time.monotonic() + 5
    while True:
        errors = _get(live_gateway, "errors?first=5").json()["errors"]
        refused = [e for e in errors if e["kind"] == "webhook_refused"]
        if refused or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused and refused[0]["location_id"] == LEEDS
    older = _get(live_gateway, f"errors?first=5&before={refused[0]['occurred_at'].replace('+', '%2B')}").json()
    assert all(e["occurred_at"] < refused[0]["occurred_at"] for e in older["errors"])
