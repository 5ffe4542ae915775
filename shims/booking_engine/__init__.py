"""The hotel PMS booking engine API (specs/hotel-pms-booking-engine.md) under /api/booking-engine/."""

from __future__ import annotations

from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return []
