"""triggerSync, resolveConflict and rollbackSyncJob doing their work, end to end against the sync engine.

Each test works on its own location or conflict of a gateway of this module's own, over the demo
network's simulated locations.
"""

from __future__ import annotations

from typing import Any

from live_helpers import wait_for
from sqlalchemy import select

from conftest import RunningGateway
from sources.cache.models import Conflict, Customer, CustomerMapping

JOB = """
id networkId status trigger entityTypes full appliedCount completedAt rolledBackAt location { id }
logs { status entityCount }
"""

TRIGGER_SYNC = f"""
mutation($input: TriggerSyncInput!) {{
  triggerSync(input: $input) {{ syncJob {{ {JOB} }} errors {{ code message field }} }}
}}
"""

SYNC_JOB = f"query($id: ID!) {{ syncJob(id: $id) {{ {JOB} }} }}"

LATEST_MANUAL_JOB = """
query($location: ID!) {
  syncJobs(first: 1, filter: {locationIds: [$location], triggers: [MANUAL]}) { nodes { id } }
}
"""

ROLLBACK_SYNC_JOB = f"""
mutation($input: RollbackSyncJobInput!) {{
  rollbackSyncJob(input: $input) {{
    syncJob {{ {JOB} }} restoredCount skippedCount compensationCount alreadyRolledBack errors {{ code message field }}
  }}
}}
"""

RESOLVE_CONFLICT = """
mutation($input: ResolveConflictInput!) {
  resolveConflict(input: $input) {
    conflict {
      id status resolvedBy resolvedAt resolvedData resolutionStrategy
      source { fields } target { fields }
      entity { ... on Customer { phone } }
    }
    errors { code message field }
  }
}
"""

HEALTH = """
{
  networkHealth {
    pendingConflicts
    locations { syncing location { id } lastSyncJob { id status } }
  }
}
"""

MANCHESTER = "manchester-central"
STOCKPORT = "stockport-merseyway"
SALFORD = "salford-quays"  # a OneBooking source site: it pushes its changes, nothing can be pulled from it


def data_of(gateway: RunningGateway, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gateway.graphql(query, variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def customer_at(gateway: RunningGateway, location_id: str) -> tuple[str, str]:
    """A customer the location knows who is in no conflict: its network id and the location's id for it."""

    async def read() -> tuple[str, str]:
        async with gateway.engine.connect() as connection:
            in_conflict = select(Conflict.entity_id).where(Conflict.entity_type == "customer")
            row = (
                await connection.execute(
                    select(CustomerMapping.customer_id, CustomerMapping.local_customer_id)
                    .where(CustomerMapping.location_id == location_id, CustomerMapping.customer_id.not_in(in_conflict))
                    .order_by(CustomerMapping.customer_id)
                    .limit(1)
                )
            ).one()
            return str(row.customer_id), str(row.local_customer_id)

    return gateway.run(read())


def cached_phone(gateway: RunningGateway, customer_id: str) -> str | None:
    async def read() -> str | None:
        async with gateway.engine.connect() as connection:
            phone = (await connection.execute(select(Customer.phone).where(Customer.id == customer_id))).scalar_one()
            return None if phone is None else str(phone)

    return gateway.run(read())


def pending_conflict(gateway: RunningGateway, entity_type: str) -> Any:
    async def read() -> Any:
        async with gateway.engine.connect() as connection:
            statement = select(Conflict).where(Conflict.entity_type == entity_type, Conflict.status == "pending")
            return (await connection.execute(statement.order_by(Conflict.id).limit(1))).one()

    return gateway.run(read())


def health_of(gateway: RunningGateway, location_id: str) -> dict[str, Any]:
    entries = data_of(gateway, HEALTH)["networkHealth"]["locations"]
    entry: dict[str, Any] = next(e for e in entries if e["location"]["id"] == f"Location:{location_id}")
    return entry


def test_a_sync_waited_for_pulls_a_change_made_at_the_location_and_rolling_it_back_restores_the_cache(
    live_gateway: RunningGateway,
) -> None:
    customer_id, local_id = customer_at(live_gateway, MANCHESTER)
    before = cached_phone(live_gateway, customer_id)
    live_gateway.store(MANCHESTER).edit_customer(local_id, phone="+447700900461")

    variables = {"input": {"locationId": f"Location:{MANCHESTER}", "entityTypes": ["CUSTOMER"], "wait": True}}
    payload = data_of(live_gateway, TRIGGER_SYNC, variables)["triggerSync"]
    assert payload["errors"] == []
    job = payload["syncJob"]
    assert (job["status"], job["trigger"], job["entityTypes"], job["full"]) == (
        "COMPLETED",
        "MANUAL",
        ["CUSTOMER"],
        False,
    )
    assert job["location"] == {"id": f"Location:{MANCHESTER}"}
    assert job["completedAt"] is not None and job["appliedCount"] >= 1 and job["logs"]
    assert cached_phone(live_gateway, customer_id) == "+447700900461"
    latest = data_of(live_gateway, LATEST_MANUAL_JOB, {"location": f"Location:{MANCHESTER}"})["syncJobs"]["nodes"]
    assert latest == [{"id": job["id"]}]
    entry = health_of(live_gateway, MANCHESTER)
    assert (entry["lastSyncJob"], entry["syncing"]) == ({"id": job["id"], "status": "COMPLETED"}, False)

    rolled = data_of(live_gateway, ROLLBACK_SYNC_JOB, {"input": {"id": job["id"]}})["rollbackSyncJob"]
    assert rolled["errors"] == []
    assert rolled["alreadyRolledBack"] is False
    assert rolled["restoredCount"] >= 1
    assert rolled["syncJob"]["status"] == "ROLLED_BACK" and rolled["syncJob"]["rolledBackAt"] is not None
    assert cached_phone(live_gateway, customer_id) == before

    again = data_of(live_gateway, ROLLBACK_SYNC_JOB, {"input": {"id": job["id"]}})["rollbackSyncJob"]
    assert again["errors"] == []
    assert (again["alreadyRolledBack"], again["restoredCount"], again["compensationCount"]) == (True, 0, 0)
    assert cached_phone(live_gateway, customer_id) == before


def test_a_second_sync_while_one_runs_is_sync_in_progress_and_health_shows_the_location_syncing(
    live_gateway: RunningGateway,
) -> None:
    controls = live_gateway.simulator(STOCKPORT).controls
    controls.latency_seconds = 0.5  # a job of several calls takes seconds: long enough to ask twice
    try:
        variables = {"input": {"locationId": f"Location:{STOCKPORT}"}}
        first = data_of(live_gateway, TRIGGER_SYNC, variables)["triggerSync"]
        assert first["errors"] == []
        job = first["syncJob"]
        assert job["status"] == "RUNNING" and job["completedAt"] is None
        second = data_of(live_gateway, TRIGGER_SYNC, variables)["triggerSync"]
        assert second["syncJob"] is None
        assert [error["code"] for error in second["errors"]] == ["SYNC_IN_PROGRESS"]
        entry = health_of(live_gateway, STOCKPORT)
        assert (entry["lastSyncJob"], entry["syncing"]) == ({"id": job["id"], "status": "RUNNING"}, True)
        refused = data_of(live_gateway, ROLLBACK_SYNC_JOB, {"input": {"id": job["id"]}})["rollbackSyncJob"]
        assert [error["code"] for error in refused["errors"]] == ["CONFLICT"]
    finally:
        controls.latency_seconds = 0.0

    def ended() -> bool:
        status: str = data_of(live_gateway, SYNC_JOB, {"id": job["id"]})["syncJob"]["status"]
        return status != "RUNNING"

    wait_for(ended, 60, "the sync job to end")
    assert health_of(live_gateway, STOCKPORT)["syncing"] is False


def test_resolving_a_conflict_with_merged_data_applies_it_and_a_second_resolution_is_a_conflict(
    live_gateway: RunningGateway,
) -> None:
    conflict = pending_conflict(live_gateway, "customer")
    pending_before = data_of(live_gateway, HEALTH)["networkHealth"]["pendingConflicts"]
    variables = {"input": {"id": f"Conflict:{conflict.id}", "mergedData": {"phone": "+447700900777"}}}
    payload = data_of(live_gateway, RESOLVE_CONFLICT, variables)["resolveConflict"]
    assert payload["errors"] == []
    resolved = payload["conflict"]
    # The caller's principal: the demo's admin token is for "demo-admin".
    assert (resolved["status"], resolved["resolvedBy"]) == ("RESOLVED", "demo-admin")
    assert resolved["resolvedAt"] is not None
    assert resolved["resolvedData"]["phone"] == "+447700900777"
    assert resolved["entity"] == {"phone": "+447700900777"}
    assert cached_phone(live_gateway, conflict.entity_id) == "+447700900777"
    assert data_of(live_gateway, HEALTH)["networkHealth"]["pendingConflicts"] == pending_before - 1

    again = {"input": {"id": f"Conflict:{conflict.id}", "choice": "SOURCE"}}
    refused = data_of(live_gateway, RESOLVE_CONFLICT, again)["resolveConflict"]
    assert refused["conflict"] is None
    assert [error["code"] for error in refused["errors"]] == ["CONFLICT"]
    assert cached_phone(live_gateway, conflict.entity_id) == "+447700900777"


def test_resolving_a_conflict_by_choosing_a_side_keeps_that_side_s_values(live_gateway: RunningGateway) -> None:
    conflict = pending_conflict(live_gateway, "booking")
    variables = {"input": {"id": f"Conflict:{conflict.id}", "choice": "TARGET"}}
    payload = data_of(live_gateway, RESOLVE_CONFLICT, variables)["resolveConflict"]
    assert payload["errors"] == []
    resolved = payload["conflict"]
    assert resolved["status"] == "RESOLVED"
    assert resolved["resolvedData"] == resolved["target"]["fields"] == conflict.target_data["fields"]


def test_a_sync_of_a_location_that_pushes_its_changes_is_invalid_input_and_starts_no_job(
    live_gateway: RunningGateway,
) -> None:
    payload = data_of(live_gateway, TRIGGER_SYNC, {"input": {"locationId": f"Location:{SALFORD}"}})["triggerSync"]
    assert payload["syncJob"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID_INPUT" and SALFORD in error["message"]
    latest = data_of(live_gateway, LATEST_MANUAL_JOB, {"location": f"Location:{SALFORD}"})["syncJobs"]["nodes"]
    assert latest == []
