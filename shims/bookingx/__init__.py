"""The BookingX network API (specs/bookingx-network.md §3) under /wp-json/bookingx-network/v1/: a node's
handshake, its sync and writes through the hub, what it may read of the network, and its webhooks."""

from __future__ import annotations

from shims.bookingx.conflicts import conflict_endpoint
from shims.bookingx.handshake import handshake_endpoint
from shims.bookingx.network import network_endpoints
from shims.bookingx.sync import sync_endpoints
from shims.bookingx.webhooks import webhook_endpoints
from shims.bookingx.writes import write_endpoints
from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return [
        handshake_endpoint(),
        *sync_endpoints(),
        conflict_endpoint(),
        *write_endpoints(),
        *network_endpoints(),
        *webhook_endpoints(),
    ]
