"""The webhook router as an Endpoint: its route and its part of /openapi.json."""

from __future__ import annotations

from pydantic import RootModel

from shims.common.endpoint import Endpoint, HeaderDoc
from shims.platforms.answers import PLATFORM_ERRORS
from shims.platforms.booksy import BooksyEvent
from shims.platforms.mindbody import MindbodyEvent
from shims.platforms.phorest import PhorestEvent
from shims.platforms.registry import PLATFORMS
from shims.platforms.vagaro import VagaroEvent
from shims.platforms.webhook import WEBHOOK_PATH, WebhookAnswer, WebhookQuery, platform_webhook

WEBHOOK_REFUSALS = {
    404: "UNKNOWN_PLATFORM: no such platform; UNKNOWN_LOCATION: no platform location has that id",
    409: "DUPLICATE_EVENT: this event id was received (and applied) before",
    422: "INVALID_EVENT: JSON, but not an event of this platform",
    503: "LOCATION_UNAVAILABLE: a thin event's record could not be fetched from the location; retry later",
}
SIGNATURES = "; ".join(f"{p.name}: {p.description}" for p in PLATFORMS.values())


class PlatformWebhookBody(RootModel[BooksyEvent | VagaroEvent | MindbodyEvent | PhorestEvent]):
    """One platform's event, in that platform's own spelling."""


def webhook_headers(*platforms: str) -> dict[str, HeaderDoc]:
    headers: dict[str, HeaderDoc] = {}
    required = len(platforms) == 1
    for name in platforms:
        platform = PLATFORMS[name]
        headers[platform.signature_header] = HeaderDoc(f"{name}: the HMAC signature", required=required)
        if platform.timestamp_header is not None:
            headers[platform.timestamp_header] = HeaderDoc(f"{name}: Unix seconds, signed", required=required)
    return headers


def webhook_endpoint() -> Endpoint:
    return Endpoint(
        method="POST",
        path=WEBHOOK_PATH,
        handler=platform_webhook,
        errors=PLATFORM_ERRORS,
        summary="A salon or fitness platform delivers a signed event about one booking or customer",
        description=f"Signatures: {SIGNATURES}.",
        tag="platforms",
        request_model=PlatformWebhookBody,
        query_model=WebhookQuery,
        response_model=WebhookAnswer,
        refusals=WEBHOOK_REFUSALS,
        headers=webhook_headers(*PLATFORMS),
        path_schemas={"platform": {"type": "string", "enum": sorted(PLATFORMS)}},
    )
