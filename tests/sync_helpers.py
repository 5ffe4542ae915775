"""Helpers for sync tests: trigger jobs, wait for the network to settle, read what locations and the cache hold."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from conftest import RunningGateway
from sources.cache.models import Conflict, Customer, CustomerMapping, OutboxMessage, SyncJob

T = TypeVar("T")

TRIGGER_SYNC = """
mutation Trigger($input: TriggerSyncInput!) {
  triggerSync(input: $input) {
    syncJob { id networkId status trigger full pulledCount appliedCount deletedCount conflictCount errorMessage
              logs { syncType status entityCount } }
    errors { code message }
  }
}
"""

CONFLICTS = """
query Conflicts($filter: ConflictFilterInput) {
  conflicts(filter: $filter, first: 50) {
    edges { node { id networkId conflictType entityType status resolutionStrategy resolvedBy
                   source { fields version } target { fields version } resolvedData } }
  }
}
"""

RESOLVE = """
mutation Resolve($input: ResolveConflictInput!) {
  resolveConflict(input: $input) { conflict { status resolvedData resolvedBy } errors { code message } }
}
"""

ROLLBACK = """
mutation Rollback($input: RollbackSyncJobInput!) {
  rollbackSyncJob(input: $input) {
    restoredCount skippedCount compensationCount alreadyRolledBack
    syncJob { status }
    errors { code message }
  }
}
"""


def eventually(check: Callable[[], T | None], seconds: float = 10.0, what: str = "condition") -> T:
    """Poll until `check` gives something truthy (outbox workers and heartbeats run on their own)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def trigger(
    gateway: RunningGateway, location_id: str, entity_types: list[str] | None = None, *, full: bool = False
) -> dict[str, Any]:
    """Run a sync job to its end (retrying while the location's previous job still runs)."""
    variables: dict[str, Any] = {"input": {"locationId": f"Location:{location_id}", "full": full, "wait": True}}
    if entity_types is not None:
        variables["input"]["entityTypes"] = entity_types
    deadline = time.monotonic() + 20
    while True:
        body = gateway.graphql(TRIGGER_SYNC, variables)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["triggerSync"]
        codes = [error["code"] for error in result["errors"]]
        if codes != ["SYNC_IN_PROGRESS"] or time.monotonic() > deadline:
            assert not codes, result
            job: dict[str, Any] = result["syncJob"]
            return job
        time.sleep(0.1)


def settle(gateway: RunningGateway, seconds: float = 15.0) -> None:
    """Until no sync job runs and the outbox has nothing due for a reachable location."""

    async def busy() -> bool:
        async with gateway.engine.connect() as connection:
            running = (await connection.execute(select(SyncJob.id).where(SyncJob.status == "running"))).first()
            pending = (
                await connection.execute(
                    select(OutboxMessage.id).where(
                        OutboxMessage.status == "pending", OutboxMessage.idempotency_key.like("sync:%")
                    )
                )
            ).first()
            return running is not None or pending is not None

    eventually(lambda: not gateway.run(busy()), seconds, "the network to settle")
    time.sleep(0.2)
    eventually(lambda: not gateway.run(busy()), seconds, "the network to settle")


def conflicts_of(gateway: RunningGateway, entity_id: str) -> list[Any]:
    async def rows() -> list[Any]:
        async with gateway.engine.connect() as connection:
            result = await connection.execute(
                select(Conflict).where(Conflict.entity_id == entity_id).order_by(Conflict.created_at)
            )
            return list(result.all())

    return gateway.run(rows())


def customer_row(gateway: RunningGateway, customer_id: str) -> Any:
    async def row() -> Any:
        async with gateway.engine.connect() as connection:
            return (await connection.execute(select(Customer).where(Customer.id == customer_id))).first()

    return gateway.run(row())


def local_customer_id(gateway: RunningGateway, customer_id: str, location_id: str) -> str:
    async def local() -> str:
        async with gateway.engine.connect() as connection:
            found = (
                await connection.execute(
                    select(CustomerMapping.local_customer_id).where(
                        CustomerMapping.customer_id == customer_id, CustomerMapping.location_id == location_id
                    )
                )
            ).scalar_one()
            return str(found)

    return gateway.run(local())
