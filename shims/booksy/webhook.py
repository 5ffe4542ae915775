"""POST /api/webhooks/booksy: the Booksy webhook of specs/booksy-integration.md, the platform router's booksy
entry (shims/platforms/booksy.py) under the path the spec names, so the document shows its own body and
headers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shims.common.endpoint import Endpoint
from shims.platforms.answers import PLATFORM_ERRORS
from shims.platforms.booksy import BOOKSY, BooksyEvent
from shims.platforms.endpoints import WEBHOOK_REFUSALS, webhook_headers
from shims.platforms.webhook import WebhookAnswer, WebhookQuery, take_webhook

BOOKSY_WEBHOOK_PATH = "/api/webhooks/booksy"


async def booksy_webhook(request: Request) -> Response:
    return await take_webhook(request, BOOKSY.name)


def webhook_endpoint() -> Endpoint:
    return Endpoint(
        method="POST",
        path=BOOKSY_WEBHOOK_PATH,
        handler=booksy_webhook,
        errors=PLATFORM_ERRORS,
        summary="Booksy delivers a signed event about one appointment or customer",
        description=BOOKSY.description,
        tag="booksy",
        request_model=BooksyEvent,
        query_model=WebhookQuery,
        response_model=WebhookAnswer,
        refusals={status: why for status, why in WEBHOOK_REFUSALS.items() if "UNKNOWN_PLATFORM" not in why}
        | {404: "UNKNOWN_LOCATION: no platform location has that id"},
        headers=webhook_headers(BOOKSY.name),
    )
