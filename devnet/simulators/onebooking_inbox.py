"""What a OneBooking source website's webhook endpoint received: every delivery, as it came, and whether the
spec's verifyWebhookSignature accepted it; and a knob to fail each event's first deliveries (a flaky website)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any


def verify_webhook_signature(payload: str, signature: str, secret: str, timestamp: str) -> bool:
    """The spec's verifyWebhookSignature (specs/onebooking-central.md, "Signature Verification"), in Python:

        signedPayload = `${timestamp}.${payload}`
        expected = HMAC-SHA256(secret, signedPayload) as hex
        return `sha256=${expected}` === signature

    compared in constant time (the spec's `===` is not, which would let timing reveal the signature)."""
    signed_payload = f"{timestamp}.{payload}"
    expected = hmac.new(secret.encode(), signed_payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}".encode(), signature.encode())


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    event_id: str | None  # X-Webhook-Id
    body: bytes
    signature: str | None
    timestamp: str | None
    verified: bool  # by verify_webhook_signature, before anything else
    status: int  # what the website answered
    replay: bool = False  # an event id it had applied already (answered 200, applied nothing)
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def applied(self) -> bool:
        return self.status == 200 and not self.replay


@dataclass
class WebhookInbox:
    """Every delivery the website's webhook got, in order. `fail_first`: each event's first N deliveries are
    answered 503 (signature checked, nothing applied), as a website that is briefly down would."""

    fail_first: int = 0
    deliveries: list[ReceivedWebhook] = field(default_factory=list)
    _attempts: dict[str, int] = field(default_factory=dict)
    _applied: set[str] = field(default_factory=set)

    def attempt(self, event_key: str) -> int:
        """This delivery's number among the event's deliveries (1 for the first)."""
        self._attempts[event_key] = self._attempts.get(event_key, 0) + 1
        return self._attempts[event_key]

    def seen_applied(self, event_key: str) -> bool:
        return event_key in self._applied

    def record(self, delivery: ReceivedWebhook, event_key: str) -> None:
        if delivery.applied:
            self._applied.add(event_key)
        self.deliveries.append(delivery)

    def applied(self) -> list[ReceivedWebhook]:
        return [delivery for delivery in self.deliveries if delivery.applied]
