"""Bookings and the revenue each one earns each location."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now


class Booking(Base):
    """A booking made at one location (originating) for a service at another or the same one."""

    __tablename__ = "bookings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # global booking id
    originating_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    service_location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    resource_id: Mapped[str | None] = mapped_column(ForeignKey("resources.id"))
    local_booking_id: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), index=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str] = mapped_column(String(2000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What the source says of the booking beyond the fields above, as it says it (a OneBooking website's
    # booking_ref, guest_count, transport, addons, stripe_payment_intent_id...); None: it says nothing more.
    source_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Notes an admin keeps on the booking in the gateway (OneBooking's admin_notes), not the customer's.
    admin_notes: Mapped[str | None] = mapped_column(String(2000))
    # What the location last reported of the customer's payment (sources.cache.payments: unpaid|paid|refunded),
    # how much it says was paid, and when it said so; None: it has reported nothing.
    reported_payment: Mapped[str | None] = mapped_column(String(20))
    reported_paid_minor: Mapped[int | None] = mapped_column(BigInteger)
    payment_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    __table_args__ = (
        Index("ix_bookings_start", "start_at", "id"),
        Index("ix_bookings_service_location_start", "service_location_id", "start_at"),
        Index("ix_bookings_customer_start", "customer_id", "start_at"),
        Index("ix_bookings_resource_start", "resource_id", "start_at"),
        Index("ix_bookings_created", "created_at", "id"),
    )


class RevenueEntry(Base):
    """One location's share of one booking (spec: bkx_network_revenue_tracking)."""

    __tablename__ = "revenue_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    booking_id: Mapped[str] = mapped_column(ForeignKey("bookings.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    role: Mapped[str] = mapped_column(String(20))  # originating|service|sole
    share_bp: Mapped[int] = mapped_column(Integer)  # 10000 = 100 %
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    commission_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_status: Mapped[str] = mapped_column(String(20), default="pending")  # sources.cache.payments
    is_cross_location: Mapped[bool] = mapped_column(default=False)
    # The service day in the service location's own timezone: reports group by it.
    business_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    __table_args__ = (
        Index("ix_revenue_location_date", "location_id", "business_date"),
        Index("ix_revenue_date", "business_date"),
    )
