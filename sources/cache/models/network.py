"""Locations (nodes) of the booking network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now


class Location(Base):
    """A booking location: a BookingX site, a source website, a platform account or a hotel."""

    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, network-wide
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # bookingx|onebooking|platform|pms
    base_url: Mapped[str] = mapped_column(String(500))
    is_hub: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="online", index=True)
    town: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    # Basis points (1/100 of a percent) keep rates exact without a Decimal column on SQLite.
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    commission_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    version: Mapped[str | None] = mapped_column(String(20))
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sync_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Monday..Sunday: [open hour, close hour] in local time, or null when closed.
    opening_hours: Mapped[list[list[int] | None] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    # Set when the network file stopped naming the location: its data stays, but no connector is built for
    # it and heartbeat, sync and refresh leave it alone. Credentials live in location_credentials.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
