"""A BookingX node's side of the network webhooks: events about its own records, signed as the add-on signs them.

    POST <hub>/wp-json/bookingx-network/v1/webhook/<booking-created|customer-updated|inventory-changed|
         resource-unavailable>
    Authorization: Bearer <the token of the node's handshake with the hub>
    X-BKX-Timestamp: <Unix seconds>
    X-BKX-Signature: sha256=<hex HMAC-SHA256(api_secret, f"{timestamp}.{raw body}")>

The body names the event (`event_id`, unique per event), the node, when the change happened at the node
(`occurred_at`: the record's `updated_at`) and the record's local id; a fat event carries the record too
(the node API's own view of it), a thin one leaves the hub to read it back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from devnet.simulators.bookingx_auth import TokenRegistry
from devnet.simulators.bookingx_wire import BookingXNode, booking_view, customer_view, resource_view, stock_view
from devnet.simulators.store import LocationStore

WEBHOOK_PREFIX = "/wp-json/bookingx-network/v1/webhook"


def webhook_signature(api_secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(api_secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class NodeWebhooks:
    """Builds and signs one node's webhook deliveries from what its store holds now."""

    def __init__(self, store: LocationStore, *, node_id: str, api_secret: str) -> None:
        self.node = BookingXNode(store, node_id, "", api_secret, "2.4.1", TokenRegistry(900))
        self.api_secret = api_secret

    def _event(self, record_updated_at: Any, event_id: str | None, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": event_id or f"evt-{uuid.uuid4().hex}",
            "node_id": self.node.node_id,
            "occurred_at": record_updated_at.isoformat(),
            **fields,
        }

    def booking_created(self, local_id: str, *, thin: bool = False, event_id: str | None = None) -> dict[str, Any]:
        booking = self.node.store.bookings[local_id]
        fields: dict[str, Any] = {"local_booking_id": local_id}
        if not thin:
            fields["booking"] = booking_view(self.node, booking)
            customer = self.node.store.customers.get(booking.local_customer_id)
            if customer is not None:
                fields["customer"] = customer_view(customer)
        return self._event(booking.updated_at, event_id, **fields)

    def customer_updated(self, local_id: str, *, thin: bool = False, event_id: str | None = None) -> dict[str, Any]:
        customer = self.node.store.customers[local_id]
        fields: dict[str, Any] = {"local_customer_id": local_id}
        if not thin:
            fields["customer"] = customer_view(customer)
        return self._event(customer.updated_at, event_id, **fields)

    def inventory_changed(self, sku: str, *, thin: bool = False, event_id: str | None = None) -> dict[str, Any]:
        level = self.node.store.stock[sku]
        fields: dict[str, Any] = {"sku": sku}
        if not thin:
            fields["stock"] = stock_view(level)
        return self._event(level.updated_at, event_id, **fields)

    def resource_unavailable(
        self, local_id: str, *, thin: bool = False, event_id: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        resource = self.node.store.resources[local_id]
        fields: dict[str, Any] = {"local_resource_id": local_id, "reason": reason}
        if not thin:
            fields["resource"] = resource_view(resource, [])
        return self._event(resource.updated_at, event_id, **fields)

    def signed(self, event: dict[str, Any], *, token: str, timestamp: int) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the delivery, as the add-on sends it."""
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-BKX-Timestamp": str(timestamp),
            "X-BKX-Signature": webhook_signature(self.api_secret, timestamp, body),
        }
        return body, headers
