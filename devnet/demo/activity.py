"""Recent sync activity: jobs and their logs, a change log, pending conflicts, and the outbox
queued for the degraded location."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devnet.demo.bookings import BookingBook
from devnet.demo.customers import CustomerBook
from devnet.demo.ids import GlobalIds, Row
from devnet.demo.network import NetworkPlan
from sources.connectors.records import CustomerDetails
from sync.outbox.messages import CustomerUpsertMessage

JOBS_PER_LOCATION = 4
SYNCED_ENTITIES = ("customers", "bookings", "resources", "services", "inventory")
CHANGE_LOG_LIMIT = 12
OUTBOX_DEPTH = 4
DEGRADED_ERRORS = (
    "connect timeout after 10 s",
    "HTTP 503 from platform API: upstream maintenance",
    "HTTP 504 gateway timeout",
)


@dataclass(frozen=True)
class ActivityBook:
    job_rows: list[Row]
    log_rows: list[Row]
    change_rows: list[Row]
    conflict_rows: list[Row]
    outbox_rows: list[Row]


def _edit(fields: dict[str, Any], base_version: int, changed_at: datetime) -> dict[str, Any]:
    return {
        "fields": fields,
        "base_version": base_version,
        "version": base_version + 1,
        "changed_at": changed_at.isoformat(),
    }


class _ActivityBuilder:
    def __init__(self, rng: random.Random, ids: GlobalIds, now: datetime, network: NetworkPlan) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.network = network
        self.jobs_by_location: dict[str, list[Row]] = {}
        self.log_rows: list[Row] = []
        self.change_rows: list[Row] = []
        self.conflict_rows: list[Row] = []
        self.outbox_rows: list[Row] = []

    def add_jobs(self, location_row: Row) -> None:
        rng = self.rng
        jobs: list[Row] = []
        finished_at: datetime = location_row["last_sync_at"]
        for index in range(JOBS_PER_LOCATION):
            duration = timedelta(milliseconds=rng.randint(800, 9_000))
            scheduled = index != JOBS_PER_LOCATION - 1
            jobs.append(
                self._job(
                    location_row["id"], finished_at - duration, finished_at, "scheduled" if scheduled else "webhook"
                )
            )
            finished_at -= timedelta(hours=rng.randint(4, 6), minutes=rng.randint(0, 59))
        if location_row["status"] == "degraded":
            started = self.now - timedelta(minutes=rng.randint(8, 20))
            jobs.insert(
                0,
                self._job(
                    location_row["id"],
                    started,
                    started + timedelta(seconds=10),
                    "scheduled",
                    error=rng.choice(DEGRADED_ERRORS),
                ),
            )
        self.jobs_by_location[location_row["id"]] = jobs

    def _job(
        self, location_id: str, started: datetime, finished: datetime, trigger: str, error: str | None = None
    ) -> Row:
        rng = self.rng
        job_id = self.ids.new("job")
        entities = SYNCED_ENTITIES if trigger == "scheduled" else ("bookings",)
        pulled = 0
        step_start = started
        step = (finished - started) / len(entities)
        for _entity in entities:
            count = 0 if error else rng.choice((0, 0, rng.randint(1, 25)))
            pulled += count
            self.log_rows.append(
                {
                    "sync_job_id": job_id,
                    "location_id": location_id,
                    "sync_type": "delta_pull",
                    "operation": "pull",
                    "entity_count": count,
                    "status": "failed" if error else "completed",
                    "duration_ms": int(step.total_seconds() * 1000),
                    "error_details": error,
                    "started_at": step_start,
                    "completed_at": step_start + step,
                }
            )
            step_start += step
            if error:
                break  # the first call failed; the job stopped there
        return {
            "id": job_id,
            "location_id": location_id,
            "trigger": trigger,
            "entity_types": list(entities),
            "status": "failed" if error else "completed",
            "pulled_count": pulled,
            "applied_count": pulled,
            "conflict_count": 0,
            "error_count": 1 if error else 0,
            "error_message": error,
            "started_at": started,
            "completed_at": finished,
        }

    def _job_completed_after(self, location_id: str, moment: datetime) -> Row | None:
        done = [job for job in self.jobs_by_location[location_id] if job["status"] == "completed"]
        return min(
            (job for job in done if job["completed_at"] >= moment), key=lambda job: job["completed_at"], default=None
        )

    def add_change_log(self, bookings: BookingBook) -> None:
        """Bookings that finished since the last syncs, as the syncs recorded them."""
        recent = [
            row
            for row in bookings.booking_rows
            if row["status"] == "completed" and row["updated_at"] >= self.now - timedelta(hours=20)
        ]
        for row in sorted(recent, key=lambda row: (row["updated_at"], row["id"]))[:CHANGE_LOG_LIMIT]:
            job = self._job_completed_after(row["service_location_id"], row["updated_at"])
            version = row["version"]
            self.change_rows.append(
                {
                    "entity_type": "booking",
                    "entity_id": row["id"],
                    "location_id": row["service_location_id"],
                    "operation": "update",
                    "before": {"status": "confirmed", "version": version - 1},
                    "after": {"status": "completed", "version": version},
                    "version": version,
                    "sync_job_id": job["id"] if job else None,
                    "changed_at": job["completed_at"] if job else row["updated_at"],
                }
            )

    def _conflict(
        self,
        entity_type: str,
        entity_id: str,
        source: str,
        target: str,
        source_data: dict[str, Any],
        target_data: dict[str, Any],
    ) -> None:
        # The source's latest sync is the one that brought in the clashing change.
        job = max(
            (j for j in self.jobs_by_location[source] if j["status"] == "completed"), key=lambda j: j["completed_at"]
        )
        job["conflict_count"] += 1
        self.conflict_rows.append(
            {
                "id": self.ids.new("cfl"),
                "conflict_type": "concurrent_update",
                "entity_type": entity_type,
                "entity_id": entity_id,
                "source_location_id": source,
                "target_location_id": target,
                "sync_job_id": job["id"],
                "source_data": source_data,
                "target_data": target_data,
                "resolution_strategy": "manual",
                # resolved_data is left out: a None here would be stored as JSON 'null', not SQL NULL.
                "status": "pending",
                "resolved_by": None,
                "resolved_at": None,
                "created_at": job["completed_at"],
            }
        )

    def add_conflicts(self, customers: CustomerBook, bookings: BookingBook) -> None:
        rng = self.rng
        edited = self.now - timedelta(hours=rng.randint(2, 6))
        travellers = {plan.id: plan for plan in customers.customers if len(plan.location_ids) > 1}
        traveller = rng.choice([row for row in customers.customer_rows if row["phone"] and row["id"] in travellers])
        plan = travellers[traveller["id"]]
        phone_stem = traveller["phone"][:-3]
        self._conflict(
            "customer",
            traveller["id"],
            plan.location_ids[1],
            plan.location_ids[0],
            _edit({"phone": f"{phone_stem}{rng.randint(100, 999)}"}, traveller["version"], edited),
            _edit(
                {"phone": f"{phone_stem}{rng.randint(100, 999)}"},
                traveller["version"],
                edited + timedelta(minutes=rng.randint(1, 30)),
            ),
        )
        upcoming = [
            b
            for b in bookings.booking_rows
            if b["status"] == "confirmed"
            and b["start_at"] > self.now
            and b["originating_location_id"] != b["service_location_id"]
        ]
        moved = rng.choice(upcoming)
        self._conflict(
            "booking",
            moved["id"],
            moved["originating_location_id"],
            moved["service_location_id"],
            _edit({"start_at": (moved["start_at"] + timedelta(minutes=30)).isoformat()}, moved["version"], edited),
            _edit(
                {"start_at": (moved["start_at"] + timedelta(minutes=60)).isoformat()},
                moved["version"],
                edited + timedelta(minutes=rng.randint(1, 30)),
            ),
        )
        share = rng.choice(self.network.share_rows)
        owner = next(r["location_id"] for r in self.network.resource_rows if r["id"] == share["resource_id"])
        hours = share["rules"]["max_hours_per_week"]
        self._conflict(
            "resource",
            share["resource_id"],
            owner,
            share["location_id"],
            _edit({f"sharing.{share['location_id']}.max_hours_per_week": hours - 4}, 1, edited),
            _edit(
                {f"sharing.{share['location_id']}.max_hours_per_week": hours + 4},
                1,
                edited + timedelta(minutes=rng.randint(1, 30)),
            ),
        )

    def add_outbox(self, customers: CustomerBook) -> None:
        """Writes the gateway could not deliver to the degraded location yet: its queue depth."""
        rng = self.rng
        degraded = next(row for row in self.network.location_rows if row["status"] == "degraded")
        location_id = degraded["id"]
        mapped = [m for m in customers.mapping_rows if m["location_id"] == location_id]
        customer_rows = {row["id"]: row for row in customers.customer_rows}
        for _ in range(OUTBOX_DEPTH):
            attempts = rng.randint(1, 5)
            created = self.now - timedelta(minutes=rng.randint(10, 45))
            # Customer edits made at the hub that the degraded location has not taken yet.
            mapping = rng.choice(mapped)
            customer = customer_rows[mapping["customer_id"]]
            message = CustomerUpsertMessage(
                customer_id=customer["id"],
                local_customer_id=mapping["local_customer_id"],
                details=CustomerDetails(
                    global_id=customer["id"],
                    first_name=customer["first_name"],
                    last_name=customer["last_name"],
                    email=customer["email"],
                    phone=customer["phone"],
                    preferences=customer["preferences"],
                ),
            )
            self.outbox_rows.append(
                {
                    "id": self.ids.new("obx"),
                    "location_id": location_id,
                    "entity_type": message.entity_type.value,
                    "entity_id": message.entity_id(location_id),
                    "operation": message.op,
                    "payload": message.encode(),
                    "idempotency_key": f"demo-{self.ids.hex(16)}",
                    "status": "pending",
                    "attempts": attempts,
                    # Exponential backoff with jitter, as the outbox does it.
                    "next_attempt_at": self.now + timedelta(seconds=30 * 2**attempts + rng.randint(0, 30)),
                    "last_error": rng.choice(DEGRADED_ERRORS),
                    "created_at": created,
                    "delivered_at": None,
                }
            )


def build_activity(
    rng: random.Random,
    ids: GlobalIds,
    now: datetime,
    network: NetworkPlan,
    customers: CustomerBook,
    bookings: BookingBook,
) -> ActivityBook:
    builder = _ActivityBuilder(rng, ids, now, network)
    for location_row in network.location_rows:
        builder.add_jobs(location_row)
    builder.add_change_log(bookings)
    builder.add_conflicts(customers, bookings)
    builder.add_outbox(customers)
    jobs = [job for location_jobs in builder.jobs_by_location.values() for job in location_jobs]
    return ActivityBook(jobs, builder.log_rows, builder.change_rows, builder.conflict_rows, builder.outbox_rows)
