"""Network-wide customers and the ids each location knows them by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now


class Customer(Base):
    """One person across the whole network (spec: bkx_network_customers)."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # global customer id
    primary_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consents: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    __table_args__ = (Index("ix_customers_name", "last_name", "first_name"),)


class CustomerMapping(Base):
    """The id a location uses for a network customer (spec: bkx_network_customer_mapping)."""

    __tablename__ = "customer_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    # Local ids are strings: platforms and PMSs use non-numeric ids.
    local_customer_id: Mapped[str] = mapped_column(String(64))
    loyalty_points: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (
        UniqueConstraint("customer_id", "location_id"),
        UniqueConstraint("location_id", "local_customer_id"),
    )
