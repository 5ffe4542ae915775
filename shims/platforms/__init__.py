"""Salon and fitness platform webhooks (specs/salon-platform-adapters.md): POST /api/webhooks/{platform}."""

from __future__ import annotations

from shims.common.endpoint import Endpoint
from shims.platforms.endpoints import webhook_endpoint


def endpoints() -> list[Endpoint]:
    return [webhook_endpoint()]
