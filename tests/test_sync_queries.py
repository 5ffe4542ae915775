"""Sync jobs, their logs and conflicts through the API, and sync mutations refusing bad input, end to end.

The demo network comes with sync jobs (one failed at the degraded location), their logs and three pending
conflicts. A sync scheduler may add jobs while these tests run, so they compare against what the cache held
before each request and rely on new jobs being newer, never on exact totals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from conftest import RunningGateway, SqlStatementCounter
from sources.cache.models import Conflict, SyncJob, SyncLog

JOB_FIELDS = """
id networkId trigger entityTypes status full pulledCount appliedCount deletedCount conflictCount errorCount
errorMessage startedAt completedAt durationMs rolledBackAt location { id }
logs { syncType operation entityCount status durationMs errorDetails startedAt completedAt }
conflicts { id }
"""

SYNC_JOBS = f"""
query($filter: SyncJobFilterInput, $first: Int, $after: String, $last: Int, $before: String) {{
  syncJobs(filter: $filter, first: $first, after: $after, last: $last, before: $before) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {JOB_FIELDS} }} }}
  }}
}}
"""

CONFLICT_FIELDS = """
id networkId conflictType entityType entityId status base resolutionStrategy resolvedData resolvedBy resolvedAt
createdAt
source { fields version changedAt location { id } }
target { fields version changedAt location { id } }
entity { __typename id }
syncJob { id conflictCount location { id } }
"""

CONFLICTS = f"""
query($filter: ConflictFilterInput, $first: Int) {{
  conflicts(filter: $filter, first: $first) {{ totalCount nodes {{ {CONFLICT_FIELDS} }} }}
}}
"""

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id ... on SyncJob { jobStatus: status logs { status } } ... on Conflict { status entityId }
  }
}
"""

SYNC_JOB = "query($id: ID!) { syncJob(id: $id) { id status } }"
CONFLICT = "query($id: ID!) { conflict(id: $id) { id status } }"

HEALTH = """
{
  networkHealth {
    locations {
      syncing
      location { id }
      lastSyncJob { id status startedAt location { id } logs { status } }
    }
  }
}
"""

# page + locations + logs + conflicts, whatever the page size
COUNTED_JOBS = """
query($first: Int!) {
  syncJobs(first: $first) {
    nodes { id status location { name } logs { status entityCount } conflicts { id status } }
  }
}
"""
COUNTED_JOB_STATEMENTS = 4

COUNTED_HEALTH = "{ networkHealth { locations { syncing lastSyncJob { id logs { status } } } } }"
COUNTED_HEALTH_STATEMENTS = 3  # health + last jobs + their logs

TRIGGER_SYNC = """
mutation($input: TriggerSyncInput!) {
  triggerSync(input: $input) { syncJob { id status } errors { code message field } }
}
"""

RESOLVE_CONFLICT = """
mutation($input: ResolveConflictInput!) {
  resolveConflict(input: $input) { conflict { id status } errors { code message field } }
}
"""

ROLLBACK_SYNC_JOB = """
mutation($input: RollbackSyncJobInput!) {
  rollbackSyncJob(input: $input) {
    syncJob { id } restoredCount skippedCount compensationCount alreadyRolledBack errors { code message field }
  }
}
"""


def data_of(gateway: RunningGateway, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = gateway.graphql(query, variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def job_rows(gateway: RunningGateway) -> list[Any]:
    async def read() -> list[Any]:
        async with gateway.engine.connect() as connection:
            statement = select(SyncJob).order_by(SyncJob.started_at.desc(), SyncJob.id.desc())
            return list((await connection.execute(statement)).all())

    return gateway.run(read())


def conflict_rows(gateway: RunningGateway) -> list[Any]:
    async def read() -> list[Any]:
        async with gateway.engine.connect() as connection:
            statement = select(Conflict).order_by(Conflict.created_at.desc(), Conflict.id.desc())
            return list((await connection.execute(statement)).all())

    return gateway.run(read())


def log_count(gateway: RunningGateway, job_id: str) -> int:
    async def read() -> int:
        async with gateway.engine.connect() as connection:
            statement = select(func.count()).select_from(SyncLog).where(SyncLog.sync_job_id == job_id)
            return int((await connection.execute(statement)).scalar_one())

    return gateway.run(read())


def walk_jobs(gateway: RunningGateway, page_size: int, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every job of the list, page by page forward."""
    jobs: list[dict[str, Any]] = []
    after = None
    while True:
        page = data_of(gateway, SYNC_JOBS, {"first": page_size, "after": after, "filter": filter})["syncJobs"]
        jobs += [edge["node"] for edge in page["edges"]]
        assert len(page["edges"]) <= page_size
        if not page["pageInfo"]["hasNextPage"]:
            return jobs
        after = page["pageInfo"]["endCursor"]


def newest_first(jobs: list[dict[str, Any]]) -> bool:
    keys = [(datetime.fromisoformat(job["startedAt"]), job["networkId"]) for job in jobs]
    return keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)


def test_sync_jobs_page_forward_newest_first_through_every_job_with_its_logs(gateway: RunningGateway) -> None:
    before = job_rows(gateway)
    jobs = walk_jobs(gateway, 5)
    assert newest_first(jobs)
    by_id = {job["networkId"]: job for job in jobs}
    assert {row.id for row in before} <= set(by_id)
    for row in before:
        job = by_id[row.id]
        assert job["id"] == f"SyncJob:{row.id}"
        assert job["location"]["id"] == f"Location:{row.location_id}"
        assert job["entityTypes"] == [name.removesuffix("s").upper() for name in row.entity_types]
        starts = [log["startedAt"] for log in job["logs"]]
        assert starts == sorted(starts)
        if row.status == "running":
            continue  # its status, counts and logs change while we look
        assert job["status"] == row.status.upper()
        assert (job["pulledCount"], job["appliedCount"], job["conflictCount"]) == (
            row.pulled_count,
            row.applied_count,
            row.conflict_count,
        )
        assert len(job["logs"]) == log_count(gateway, row.id) > 0
        if row.duration_ms is not None:
            assert job["durationMs"] == row.duration_ms
        elif row.completed_at is not None:  # the demo's jobs record no duration: it is their span
            assert job["durationMs"] == int((row.completed_at - row.started_at).total_seconds() * 1000)


def test_the_failed_job_of_the_degraded_location_carries_its_error_in_the_job_and_its_log(
    gateway: RunningGateway,
) -> None:
    [failed] = [row for row in job_rows(gateway) if row.status == "failed" and row.error_message]
    filter = {"locationIds": [f"Location:{failed.location_id}"], "statuses": ["FAILED"]}
    jobs = walk_jobs(gateway, 10, filter)
    assert {job["location"]["id"] for job in jobs} == {f"Location:{failed.location_id}"}
    assert {job["status"] for job in jobs} == {"FAILED"}
    [job] = [job for job in jobs if job["networkId"] == failed.id]
    assert job["errorMessage"] == failed.error_message
    assert job["errorCount"] == 1
    assert [(log["status"], log["errorDetails"]) for log in job["logs"]] == [("failed", failed.error_message)]


def test_sync_jobs_filter_by_trigger(gateway: RunningGateway) -> None:
    webhook_ids = {row.id for row in job_rows(gateway) if row.trigger == "webhook"}
    jobs = walk_jobs(gateway, 50, {"triggers": ["WEBHOOK"]})
    assert webhook_ids and webhook_ids <= {job["networkId"] for job in jobs}
    assert {job["trigger"] for job in jobs} == {"WEBHOOK"}
    assert all(job["entityTypes"] == ["BOOKING"] for job in jobs if job["networkId"] in webhook_ids)


def test_the_oldest_jobs_page_backwards_and_forwards_to_the_same_items(gateway: RunningGateway) -> None:
    oldest = list(reversed(job_rows(gateway)))[:7]
    page = data_of(gateway, SYNC_JOBS, {"last": 7})["syncJobs"]
    assert [edge["node"]["networkId"] for edge in page["edges"]] == [row.id for row in reversed(oldest)]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] is False
    # The first three of that page, reached again backwards from its fourth.
    start = page["edges"][3]["cursor"]
    earlier = data_of(gateway, SYNC_JOBS, {"last": 3, "before": start})["syncJobs"]
    assert [edge["node"]["networkId"] for edge in earlier["edges"]] == [
        edge["node"]["networkId"] for edge in page["edges"][:3]
    ]


def test_a_bookings_cursor_is_not_a_sync_jobs_cursor(gateway: RunningGateway) -> None:
    cursor = data_of(gateway, "{ bookings(first: 1) { pageInfo { endCursor } } }")["bookings"]["pageInfo"]["endCursor"]
    body = gateway.graphql(SYNC_JOBS, {"first": 2, "after": cursor})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_CURSOR"]


def test_jobs_list_the_conflicts_they_found(gateway: RunningGateway) -> None:
    # Several conflicts may come from one job (the demo's can all land on one location's latest pull).
    found: dict[str, set[str]] = {}
    for row in conflict_rows(gateway):
        if row.sync_job_id:
            found.setdefault(row.sync_job_id, set()).add(f"Conflict:{row.id}")
    assert sum(len(conflicts) for conflicts in found.values()) >= 3
    jobs = {job["networkId"]: job for job in walk_jobs(gateway, 50)}
    for job_id, conflicts in found.items():
        assert {c["id"] for c in jobs[job_id]["conflicts"]} == conflicts
        assert jobs[job_id]["conflictCount"] >= len(conflicts)


def test_pending_conflicts_show_both_sides_their_locations_and_the_record(gateway: RunningGateway) -> None:
    pending = [row for row in conflict_rows(gateway) if row.status == "pending"]
    conflicts = data_of(gateway, CONFLICTS, {"filter": {"statuses": ["PENDING"]}, "first": 100})["conflicts"]
    by_id = {node["networkId"]: node for node in conflicts["nodes"]}
    assert {row.id for row in pending} <= set(by_id)
    assert {node["status"] for node in conflicts["nodes"]} == {"PENDING"}
    for row in pending:
        node = by_id[row.id]
        assert node["entityType"] == row.entity_type.upper()
        assert node["entity"] == {"__typename": row.entity_type.capitalize(), "id": node["entityId"]}
        assert node["entityId"].endswith(f":{row.entity_id}")
        assert node["source"]["fields"] == row.source_data["fields"]
        assert node["target"]["fields"] == row.target_data["fields"]
        assert node["source"]["version"] == row.source_data["version"]
        assert node["source"]["location"] == {"id": f"Location:{row.source_location_id}"}
        assert node["target"]["location"] == {"id": f"Location:{row.target_location_id}"}
        for side, data in (("source", row.source_data), ("target", row.target_data)):
            assert datetime.fromisoformat(node[side]["changedAt"]) == datetime.fromisoformat(data["changed_at"])
        assert node["resolutionStrategy"] == "MANUAL"
        assert (node["resolvedBy"], node["resolvedAt"], node["resolvedData"]) == (None, None, None)
        assert node["syncJob"]["location"] == {"id": f"Location:{row.source_location_id}"}
        assert node["syncJob"]["conflictCount"] >= 1


def test_conflicts_filter_by_entity_type_and_by_either_location(gateway: RunningGateway) -> None:
    rows = conflict_rows(gateway)
    customers = data_of(gateway, CONFLICTS, {"filter": {"entityTypes": ["CUSTOMER"]}, "first": 100})["conflicts"]
    assert {node["networkId"] for node in customers["nodes"]} == {r.id for r in rows if r.entity_type == "customer"}
    conflict = rows[0]
    for location in (conflict.source_location_id, conflict.target_location_id):
        filter = {"locationIds": [f"Location:{location}"]}
        found = data_of(gateway, CONFLICTS, {"filter": filter, "first": 100})["conflicts"]
        assert conflict.id in {node["networkId"] for node in found["nodes"]}
        expected = {r.id for r in rows if location in (r.source_location_id, r.target_location_id)}
        assert {node["networkId"] for node in found["nodes"]} == expected
        assert found["totalCount"] == len(expected)


def test_sync_jobs_and_conflicts_are_nodes(gateway: RunningGateway) -> None:
    job = job_rows(gateway)[-1]
    conflict = conflict_rows(gateway)[0]
    node = data_of(gateway, NODE, {"id": f"SyncJob:{job.id}"})["node"]
    assert node["__typename"] == "SyncJob" and node["id"] == f"SyncJob:{job.id}" and node["logs"]
    assert data_of(gateway, SYNC_JOB, {"id": f"SyncJob:{job.id}"})["syncJob"]["status"] == job.status.upper()
    node = data_of(gateway, NODE, {"id": f"Conflict:{conflict.id}"})["node"]
    assert (node["__typename"], node["entityId"].split(":")[1]) == ("Conflict", conflict.entity_id)
    assert data_of(gateway, CONFLICT, {"id": f"Conflict:{conflict.id}"})["conflict"]["id"] == f"Conflict:{conflict.id}"


def test_an_unknown_or_mistyped_sync_job_id_is_an_error_with_its_code(gateway: RunningGateway) -> None:
    unknown = gateway.graphql(SYNC_JOB, {"id": "SyncJob:sync_nobody"})
    assert unknown["data"]["syncJob"] is None
    assert [error["extensions"]["code"] for error in unknown["errors"]] == ["NOT_FOUND"]
    conflict = conflict_rows(gateway)[0]
    mistyped = gateway.graphql(SYNC_JOB, {"id": f"Conflict:{conflict.id}"})
    assert [error["extensions"]["code"] for error in mistyped["errors"]] == ["INVALID_ID"]


def test_network_health_shows_each_location_s_latest_job(gateway: RunningGateway) -> None:
    newest: dict[str, Any] = {}
    for row in job_rows(gateway):
        newest.setdefault(row.location_id, row)
    entries = data_of(gateway, HEALTH)["networkHealth"]["locations"]
    assert {entry["location"]["id"] for entry in entries} >= {f"Location:{key}" for key in newest}
    for entry in entries:
        job = entry["lastSyncJob"]
        row = newest[entry["location"]["id"].split(":", 1)[1]]
        assert job["location"] == entry["location"]
        # That job, or one a scheduler started since.
        assert job["id"] == f"SyncJob:{row.id}" or datetime.fromisoformat(job["startedAt"]) >= row.started_at
        assert job["logs"]
        assert entry["syncing"] is (job["status"] == "RUNNING")


def test_a_page_of_jobs_with_locations_logs_and_conflicts_takes_the_same_statements_for_3_and_20_jobs(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    counts = {}
    for size in (3, 20):
        sql_statements.reset()
        nodes = data_of(gateway, COUNTED_JOBS, {"first": size})["syncJobs"]["nodes"]
        counts[size] = sql_statements.count
        assert len(nodes) == size
    assert counts == {3: COUNTED_JOB_STATEMENTS, 20: COUNTED_JOB_STATEMENTS}


def test_network_health_reads_every_location_s_last_job_and_logs_in_three_statements(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    data_of(gateway, COUNTED_HEALTH)
    assert sql_statements.count == COUNTED_HEALTH_STATEMENTS


def assert_refused(payload: dict[str, Any], code: str, field: str | None, entity: str) -> None:
    assert payload[entity] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"]


def test_triggering_a_sync_of_an_unknown_location_is_not_found_and_starts_no_job(gateway: RunningGateway) -> None:
    jobs = job_rows(gateway)
    payload = data_of(gateway, TRIGGER_SYNC, {"input": {"locationId": "Location:nowhere"}})["triggerSync"]
    assert_refused(payload, "NOT_FOUND", "locationId", "syncJob")
    assert {row.id for row in jobs} >= {row.id for row in job_rows(gateway) if row.trigger == "manual"}


def test_triggering_a_sync_with_a_malformed_or_mistyped_id_is_invalid_id(gateway: RunningGateway) -> None:
    for location_id in ("nowhere", "Customer:cus_1"):
        payload = data_of(gateway, TRIGGER_SYNC, {"input": {"locationId": location_id}})["triggerSync"]
        assert_refused(payload, "INVALID_ID", "locationId", "syncJob")


def test_triggering_a_sync_of_no_entity_types_is_invalid_input(gateway: RunningGateway) -> None:
    location = f"Location:{job_rows(gateway)[0].location_id}"
    variables = {"input": {"locationId": location, "entityTypes": [], "wait": True}}
    payload = data_of(gateway, TRIGGER_SYNC, variables)["triggerSync"]
    assert_refused(payload, "INVALID_INPUT", "entityTypes", "syncJob")


def test_an_unknown_entity_type_is_a_validation_error(gateway: RunningGateway) -> None:
    variables = {"input": {"locationId": "Location:nowhere", "entityTypes": ["SPACESHIPS"]}}
    body = gateway.graphql(TRIGGER_SYNC, variables)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]


def pending_conflict(gateway: RunningGateway) -> Any:
    return next(row for row in conflict_rows(gateway) if row.status == "pending")


def test_resolving_an_unknown_conflict_is_not_found(gateway: RunningGateway) -> None:
    variables = {"input": {"id": "Conflict:cfl_nobody", "choice": "SOURCE"}}
    payload = data_of(gateway, RESOLVE_CONFLICT, variables)["resolveConflict"]
    assert_refused(payload, "NOT_FOUND", "id", "conflict")


def test_resolving_with_both_a_choice_and_merged_data_or_neither_is_invalid_input_and_changes_nothing(
    gateway: RunningGateway,
) -> None:
    conflict = pending_conflict(gateway)
    for decision in ({"choice": "SOURCE", "mergedData": {"phone": "+447700900123"}}, {}):
        variables = {"input": {"id": f"Conflict:{conflict.id}", **decision}}
        payload = data_of(gateway, RESOLVE_CONFLICT, variables)["resolveConflict"]
        assert_refused(payload, "INVALID_INPUT", None, "conflict")
    [after] = [row for row in conflict_rows(gateway) if row.id == conflict.id]
    assert (after.status, after.resolved_data, after.resolved_at) == ("pending", None, None)


def test_merged_data_that_is_not_an_object_is_invalid_input_on_that_field(gateway: RunningGateway) -> None:
    conflict = pending_conflict(gateway)
    variables = {"input": {"id": f"Conflict:{conflict.id}", "mergedData": "+447700900123"}}
    payload = data_of(gateway, RESOLVE_CONFLICT, variables)["resolveConflict"]
    assert_refused(payload, "INVALID_INPUT", "mergedData", "conflict")
    [after] = [row for row in conflict_rows(gateway) if row.id == conflict.id]
    assert after.status == "pending"


def test_rolling_back_an_unknown_sync_job_is_not_found(gateway: RunningGateway) -> None:
    payload = data_of(gateway, ROLLBACK_SYNC_JOB, {"input": {"id": "SyncJob:sync_nobody"}})["rollbackSyncJob"]
    assert_refused(payload, "NOT_FOUND", "id", "syncJob")
    assert (payload["restoredCount"], payload["alreadyRolledBack"]) == (None, None)


def test_rolling_back_with_a_conflict_id_is_invalid_id(gateway: RunningGateway) -> None:
    conflict = pending_conflict(gateway)
    payload = data_of(gateway, ROLLBACK_SYNC_JOB, {"input": {"id": f"Conflict:{conflict.id}"}})["rollbackSyncJob"]
    assert_refused(payload, "INVALID_ID", "id", "syncJob")
