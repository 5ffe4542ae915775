"""The BookingX network API (specs/bookingx-network.md §3) under /wp-json/bookingx-network/v1/."""

from __future__ import annotations

from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return []
