"""A BookingX node as the tests' caller of the gateway's BookingX network API: its real credentials from the demo's
credentials file, its handshake, and its requests over real HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from cache_helpers import count, scalars
from clock import open_tuesday
from sqlalchemy import select

from conftest import RunningGateway
from devnet.simulators.bookingx_webhooks import WEBHOOK_PREFIX, NodeWebhooks
from sources.cache.models import AuditEntry, WebhookReceipt

PREFIX = "/wp-json/bookingx-network/v1"
MANCHESTER = "manchester-central"
STOCKPORT = "stockport-merseyway"
DUBLIN = "dublin-ranelagh"
NODE_VERSION = "2.4.1"


@dataclass
class Node:
    """One demo BookingX location acting as the node it is, with the credentials the demo made for it."""

    gateway: RunningGateway
    node_id: str
    token: str = ""
    _webhooks: NodeWebhooks | None = field(default=None, repr=False)

    @property
    def credentials(self) -> dict[str, str]:
        return self.gateway.demo_credentials()[self.node_id]

    def handshake_body(self, **changes: Any) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "api_key": self.credentials["inbound_api_key"],
            "api_secret": self.credentials["api_secret"],
            "version": NODE_VERSION,
            **changes,
        }

    def handshake(self, **changes: Any) -> httpx.Response:
        return httpx.post(f"{self.gateway.url}{PREFIX}/handshake", json=self.handshake_body(**changes), timeout=30)

    def connect(self) -> Node:
        answer = self.handshake()
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["token"]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.gateway.url}{PREFIX}/{path}", headers=self.headers, timeout=60, **kwargs)

    @property
    def webhooks(self) -> NodeWebhooks:
        if self._webhooks is None:
            store = self.gateway.store(self.node_id)
            self._webhooks = NodeWebhooks(store, node_id=self.node_id, api_secret=self.credentials["api_secret"])
        return self._webhooks

    def signed(self, event: dict[str, Any], *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        return self.webhooks.signed(
            event, token=self.token, timestamp=int(time.time()) if timestamp is None else timestamp
        )

    def deliver(self, hook: str, event: dict[str, Any], *, timestamp: int | None = None) -> httpx.Response:
        body, headers = self.signed(event, timestamp=timestamp)
        return httpx.post(f"{self.gateway.url}{WEBHOOK_PREFIX}/{hook}", content=body, headers=headers, timeout=60)


def refusals(gateway: RunningGateway) -> list[dict[str, Any]]:
    """The audit entries of refused webhooks, oldest first."""

    statement = select(AuditEntry.details).where(AuditEntry.action == "webhook.refused").order_by(AuditEntry.id)
    return [dict(details) for details in scalars(gateway, statement)]


def receipts(gateway: RunningGateway) -> int:
    return count(gateway, WebhookReceipt)


def local_booking(gateway: RunningGateway, node_id: str, seed: int) -> str:
    """A booking made at the node itself (in its own system, with a customer new there): its local id."""
    store = gateway.store(node_id)
    service = next(s for s in sorted(store.services.values(), key=lambda s: s.local_id) if store.eligible_resources(s))
    day, _ = open_tuesday(days_ahead=20 + seed)
    resource, start, end = store.free_slots(service.local_id, day, day + timedelta(days=1))[0]
    booking = store.create_booking(
        key=None,
        local_customer_id=None,
        customer={"first_name": "Grace", "last_name": f"Node {seed}", "email": f"grace.node{seed}@example.com"},
        local_service_id=service.local_id,
        local_resource_id=resource,
        start_at=start,
        end_at=end,
        price_minor=service.price_minor,
        currency=store.currency,
    )
    return booking.local_id
