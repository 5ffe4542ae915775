"""The hotel PMS booking engine API (specs/hotel-pms-booking-engine.md) under /api/booking-engine/."""

from __future__ import annotations

from shims.booking_engine import auth, bookings, hotels, stays
from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return [*hotels.endpoints(), *stays.endpoints(), *bookings.endpoints(), *auth.endpoints()]
