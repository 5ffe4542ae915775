"""Sync bookkeeping: jobs, logs, the change log, conflicts, the outbox and webhook receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    pulled_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    target_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
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

    __table_args__ = (UniqueConstraint("source", "event_id"),)


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


class RefreshMark(Base):
    """When one kind of entity was last refreshed live from one location, and how the last try went."""

    __tablename__ = "refresh_marks"

    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
