"""Customer privacy: consent records (append-only: the history is the record, the newest per purpose is the
current state), data subject requests, and the suppression list of erased customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now

PURPOSE_LENGTH = 32
CHANNEL_LENGTH = 32
ACTOR_LENGTH = 200  # audit_entries.actor
IP_ADDRESS_LENGTH = 45  # the longest IPv6 text form (IPv4-mapped)
USER_AGENT_LENGTH = 500


class ConsentRecord(Base):
    """One grant or withdrawal of one purpose by (or for) one customer; never updated, never deleted."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(PURPOSE_LENGTH))
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))  # the principal's subject
    actor_role: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))  # where it was given, if anywhere
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    ip_address: Mapped[str | None] = mapped_column(String(IP_ADDRESS_LENGTH))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))

    __table_args__ = (Index("ix_consent_records_customer", "customer_id", "purpose", "id"),)


class DataSubjectRequest(Base):
    """An export or an erasure asked for a customer: due 30 days after it was made (GDPR art. 12(3))."""

    __tablename__ = "data_subject_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # export, erasure
    status: Mapped[str] = mapped_column(String(16))  # in_progress, completed
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    # Per location: {"status": ok|unavailable|not_supported|queued|delivered|failed, "detail": ...}.
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An export's document, kept so a retried request answers the same; emptied when the customer is erased.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CustomerSuppression(Base):
    """An erased customer: no pull, push or webhook may bring their personal data back into the cache, whether a
    location sends them under the id it knew them by or as someone new with the same email."""

    __tablename__ = "customer_suppressions"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # sha256 of the lower-cased email
    request_id: Mapped[str] = mapped_column(String(64))
    suppressed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
