"""Sync bookkeeping: jobs, logs, the change log, conflicts, the outbox and webhook receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now


class SyncJob(Base):
    """One sync run against one location."""

    __tablename__ = "sync_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # scheduled|manual|webhook|recovery
    entity_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running|completed|failed|rolled_back
    full: Mapped[bool] = mapped_column(Boolean, default=False)  # a full reconciliation (finds deletions)
    pulled_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The process running the job holds it by a lease it renews; a running job whose lease expired lost its
    # process, and the next trigger takes it over (a conditional UPDATE on the old owner: one wins).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # One running job per location, across every gateway process sharing the database.
    __table_args__ = (
        Index(
            "uq_sync_jobs_one_running",
            "location_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )


class SyncLog(Base):
    """One step of a sync job (spec: bkx_network_sync_log)."""

    __tablename__ = "sync_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sync_job_id: Mapped[str | None] = mapped_column(ForeignKey("sync_jobs.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    sync_type: Mapped[str] = mapped_column(String(50))
    operation: Mapped[str] = mapped_column(String(20))
    entity_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error_details: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChangeLogEntry(Base):
    """An applied change with its before and after images: delta cursors and rollback read it."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    operation: Mapped[str] = mapped_column(String(20))  # create|update|delete
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sync_job_id: Mapped[str | None] = mapped_column(ForeignKey("sync_jobs.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (
        Index("ix_change_log_cursor", "entity_type", "changed_at", "id"),
        Index("ix_change_log_entity", "entity_type", "entity_id"),
    )


class Conflict(Base):
    """Two concurrent changes to one entity (spec: bkx_network_conflicts)."""

    __tablename__ = "conflicts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conflict_type: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    source_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    # Where the network's side came from; null when it came from a gateway mutation.
    target_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))
    sync_job_id: Mapped[str | None] = mapped_column(ForeignKey("sync_jobs.id"), index=True)
    base_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what both sides agreed on before
    source_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolution_strategy: Mapped[str | None] = mapped_column(String(50))
    resolved_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (Index("ix_conflicts_entity", "entity_type", "entity_id"),)


class OutboxMessage(Base):
    """A write waiting for, or given up on by, its owning location (spec: bkx_network_sync_queue)."""

    __tablename__ = "outbox_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class WebhookReceipt(Base):
    """An inbound webhook event already processed; dedupes redeliveries."""

    __tablename__ = "webhook_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # What the event is about ("booking:<local id>") and when it happened at its sender: an event older than
    # the newest one applied for the same entity from the same sender is stale and changes nothing.
    entity_key: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20), default="applied", server_default="applied")  # applied|stale

    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_webhook_receipts_entity", "source", "entity_key", "occurred_at"),
    )


class IdempotencyRecord(Base):
    """A mutation's idempotency key, the hash of the input it came with, and the answer it got."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(50))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="in_progress")  # in_progress|completed
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An in-progress claim is held by a lease its request renews; once it expired, a retry takes the claim over.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshMark(Base):
    """When one kind of entity was last refreshed live from one location, and how the last try went."""

    __tablename__ = "refresh_marks"

    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """What the gateway and one location last agreed an entity looked like, and the location's version then.

    A pulled record whose version differs from `remote_version` changed at the location;
    a cache record whose fields differ from `base` changed on the network's side. Both at
    once is a conflict (neither saw the other); one alone is a sequential change.
    """

    __tablename__ = "sync_states"

    entity_type: Mapped[str] = mapped_column(String(50), primary_key=True)  # customer|booking
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    remote_version: Mapped[int] = mapped_column(Integer)
    base: Mapped[dict[str, Any]] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SyncCursor(Base):
    """Where the last delta pull of one entity type from one location stopped."""

    __tablename__ = "sync_cursors"

    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    key: Mapped[str | None] = mapped_column(String(200))
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
