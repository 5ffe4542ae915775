"""A node's own records as it sends them (sync batches, webhooks, staff changes), each turned into the
connector record the apply pipeline takes (sources.connectors.records), as a pull of the node would give it.

The fields are the node's own API's (devnet/simulators/bookingx_wire.py: booking_view, customer_view, ...):
local ids, a `version` bumped on every change, and `updated_at`. Fields of those views the hub does not take
from a node (its `available`, `owned`, ...) are ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shims.bookingx.wire import Count, Day, LocalId, Moment, Version
from sources.cache.payments import PaymentReport, ReportedPayment
from sources.connectors.records import RemoteBooking, RemoteCustomer, RemoteResource, RemoteStockLevel

BookingStatus = Literal["pending", "confirmed", "completed", "cancelled", "no_show"]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class CustomerRecord(Record):
    local_customer_id: LocalId
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, min_length=1, max_length=32)
    loyalty_points: Count = 0
    version: Version = 1
    updated_at: Moment

    def remote(self) -> RemoteCustomer:
        return RemoteCustomer(
            local_id=self.local_customer_id,
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=self.phone,
            loyalty_points=self.loyalty_points,
            updated_at=self.updated_at,
            version=self.version,
        )


class BookingRecord(Record):
    local_booking_id: LocalId
    local_customer_id: LocalId
    local_service_id: LocalId
    local_resource_id: LocalId | None = None
    start_at: Moment
    end_at: Moment
    status: BookingStatus = "confirmed"
    price_minor: int = Field(ge=0, le=10**12)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    notes: str = Field(default="", max_length=2000)
    version: Version = 1
    updated_at: Moment
    global_booking_id: str | None = Field(default=None, min_length=1, max_length=64)
    # What the node says of the customer's payment; absent: nothing (the last report stands).
    payment_status: Literal["unpaid", "paid", "refunded"] | None = None
    paid_minor: int = Field(default=0, ge=0, le=10**12)

    @model_validator(mode="after")
    def _ends_after_start(self) -> BookingRecord:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    def _payment(self) -> PaymentReport | None:
        if self.payment_status is None:
            return None
        status = ReportedPayment(self.payment_status)
        return PaymentReport(status, 0 if status is ReportedPayment.UNPAID else self.paid_minor)

    def remote(self) -> RemoteBooking:
        return RemoteBooking(
            local_id=self.local_booking_id,
            local_customer_id=self.local_customer_id,
            local_service_id=self.local_service_id,
            local_resource_id=self.local_resource_id,
            start_at=self.start_at,
            end_at=self.end_at,
            status=self.status,
            price_minor=self.price_minor,
            currency=self.currency,
            notes=self.notes,
            version=self.version,
            updated_at=self.updated_at,
            global_id=self.global_booking_id,
            payment=self._payment(),
        )


class ResourceRecord(Record):
    local_resource_id: LocalId
    resource_type: Literal["staff", "room", "equipment"]
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)
    skill: str | None = Field(default=None, max_length=50)
    capacity: int = Field(default=1, ge=1, le=10_000)
    is_active: bool = True
    version: Version = 1
    updated_at: Moment | None = None

    def remote(self) -> RemoteResource:
        return RemoteResource(
            local_id=self.local_resource_id,
            kind=self.resource_type,
            name=self.name,
            title=self.title,
            skill=self.skill,
            capacity=self.capacity,
            is_active=self.is_active,
            version=self.version,
            updated_at=self.updated_at,
        )


class StockRecord(Record):
    sku: str = Field(min_length=1, max_length=64)
    quantity: Count
    reserved: Count = 0
    reorder_point: Count = 0
    expires_on: Day | None = None
    version: Version = 1
    updated_at: Moment

    def remote(self) -> RemoteStockLevel:
        return RemoteStockLevel(
            sku=self.sku,
            quantity=self.quantity,
            reserved=self.reserved,
            reorder_point=self.reorder_point,
            expires_on=self.expires_on,
            updated_at=self.updated_at,
            version=self.version,
        )
