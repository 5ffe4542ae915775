"""Website management (specs/onebooking-central.md): registering a source website, and a test webhook to one.

POST /api/websites (network_admin: Permission.MANAGE_LOCATIONS) registers a website as a location of kind
"onebooking" through resolvers.locations.registration, the same function as GraphQL's registerLocation.
    Body: the spec's `id`, `name`, `domain`, `webhook_url` (it must end in the spec's route,
    /api/webhooks/onebooking: the gateway posts there), an optional `webhook_secret` (made by the gateway when
    left out), and what the network needs beyond the spec: `timezone`, `currency`, `latitude`, `longitude`,
    `town` (defaults to the domain), `opening_hours`, and its `packages` ({name, duration_minutes, price}: the
    services its pushes name in package_name; the website has nothing the gateway could pull them from).
    201 {"success": true, "website_id", "api_key", "webhook_secret", "message"}: the key (and a secret the
    gateway made) are shown this once; only the key's hash and the secret's ciphertext are kept.
    409 CONFLICT: there is a location with that id already.

POST /api/admin/test-webhook (dashboard admins of the website) {"website_id", "booking_id", "event"} sends the
website a signed test event about one of its bookings (`data: {"test": "true"}`, nothing changes) through the
outbox, tried at once; 200 {"success": true, "delivered": bool, "status", "code", "reason"}: delivered, queued
(the website did not answer; retried later) or failed (it refused). 404 WEBSITE_NOT_FOUND, 404 NOT_FOUND.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.secrets import new_api_key
from resolvers.bookings.annotate import send_test_webhook
from resolvers.locations.packages import DURATION_MAX_MINUTES, PACKAGES_MAX, Package, add_packages
from resolvers.locations.registration import register_location
from resolvers.permissions import Permission, require, require_location
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal
from shims.onebooking.dashboard_callers import dashboard_caller, websites_of
from shims.onebooking.errors import FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, ONEBOOKING_ERRORS, WEBSITE_NOT_FOUND
from shims.onebooking.website import KIND
from sources.cache.models import Booking, Location
from sources.cache.money import InexactAmount, to_minor_units
from sources.network.model import OpeningHours

WEBSITES_PATH = "/api/websites"
TEST_WEBHOOK_PATH = "/api/admin/test-webhook"
WEBHOOK_ROUTE = "/api/webhooks/onebooking"
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class NewPackage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="as its pushes name it in package_name")
    duration_minutes: int = Field(ge=1, le=DURATION_MAX_MINUTES)
    price: Decimal = Field(ge=0, le=Decimal(1_000_000_000), description="major units of the website's currency")


class NewWebsite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(max_length=64, pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    domain: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")
    webhook_url: str = Field(min_length=1, max_length=500)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=500)
    timezone: str = Field(min_length=1, max_length=64)
    currency: str = Field(max_length=3, pattern=r"^[A-Z]{3}$")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    town: str | None = Field(default=None, min_length=1, max_length=120)
    # The network file's model: the same hours are valid here and there.
    opening_hours: OpeningHours | None = None
    packages: list[NewPackage] = Field(default_factory=list, max_length=PACKAGES_MAX)

    @field_validator("webhook_url")
    @classmethod
    def _spec_route(cls, value: str) -> str:
        if not value.rstrip("/").endswith(WEBHOOK_ROUTE):
            raise ValueError(f"the website's webhook is served at <its base URL>{WEBHOOK_ROUTE}")
        return value.rstrip("/")


class Registered(BaseModel):
    success: Literal[True] = True
    website_id: str = Field(max_length=64)
    api_key: str = Field(max_length=200, description="shown once: the website's X-API-Key")
    webhook_secret: str = Field(max_length=500, description="the secret its webhooks are signed with")
    message: str = Field(max_length=200)


def _package(package: NewPackage, currency: str) -> Package:
    try:
        price_minor = to_minor_units(package.price, currency)
    except InexactAmount as inexact:
        raise Refusal(400, INVALID_PAYLOAD, f"packages.price: {inexact}") from None
    return Package(package.name, package.duration_minutes, price_minor)


async def register_website(request: Request) -> JSONResponse:
    principal, context = await dashboard_caller(request, editing=True)
    require(principal, Permission.MANAGE_LOCATIONS, context.settings)
    website = await parse_body(request, NewWebsite, code=INVALID_PAYLOAD)
    secret = website.webhook_secret or new_api_key("whsec")
    spec = {
        "id": website.id,
        "name": website.name,
        "kind": KIND,
        "base_url": website.webhook_url.removesuffix(WEBHOOK_ROUTE),
        "timezone": website.timezone,
        "currency": website.currency,
        "latitude": website.latitude,
        "longitude": website.longitude,
        "town": website.town or website.domain,
        "opening_hours": None if website.opening_hours is None else website.opening_hours.model_dump(),
        "credentials": {"webhook_secret": secret},
    }
    packages = [_package(package, website.currency) for package in website.packages]
    registration = await register_location(context, spec)
    await add_packages(context, registration.location_id, packages)
    answer = Registered(
        website_id=registration.location_id,
        api_key=registration.api_key,
        webhook_secret=secret,
        message="Website registered: keep the API key, it is not shown again",
    )
    return JSONResponse(answer.model_dump(), status_code=201)


class WebhookTest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    website_id: str = Field(min_length=1, max_length=64)
    booking_id: str = Field(min_length=1, max_length=64)
    event: Literal["booking.updated", "booking.status_changed"] = "booking.updated"


class WebhookTestOutcome(BaseModel):
    success: Literal[True] = True
    delivered: bool
    status: Literal["delivered", "queued", "failed"]
    code: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)


async def send_test_event(request: Request) -> JSONResponse:
    principal, context = await dashboard_caller(request, editing=True)
    require(principal, Permission.BOOK, context.settings)
    asked = await parse_body(request, WebhookTest, code=INVALID_PAYLOAD)
    if asked.website_id not in await websites_of(context):
        async with AsyncSession(context.engine) as session:
            location = await session.get(Location, asked.website_id)
        if location is None or location.kind != KIND or location.retired_at is not None:
            raise Refusal(404, WEBSITE_NOT_FOUND, f"no website {asked.website_id}")
        raise Refusal(403, FORBIDDEN, f"you do not act for website {asked.website_id}")
    require_location(principal, asked.website_id)
    async with AsyncSession(context.engine) as session:
        booking = await session.get(Booking, asked.booking_id)
    if booking is None or booking.service_location_id != asked.website_id:
        raise Refusal(404, NOT_FOUND, f"website {asked.website_id} has no booking {asked.booking_id}")
    result = await send_test_webhook(context, asked.website_id, asked.booking_id, asked.event)
    outcome = result.outcomes[0]
    answer = WebhookTestOutcome.model_validate(
        {
            "delivered": outcome.status.value == "DELIVERED",
            "status": outcome.status.value.lower(),
            "code": outcome.code,
            "reason": outcome.reason or None,
        }
    )
    return JSONResponse(answer.model_dump())


def website_endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="POST",
            path=WEBSITES_PATH,
            handler=register_website,
            errors=ONEBOOKING_ERRORS,
            summary="Register a source website (network_admin); its API key is answered once",
            tag="onebooking",
            request_model=NewWebsite,
            response_model=Registered,
            success_status=201,
            refusals={403: "FORBIDDEN: only a network_admin registers websites", 409: "CONFLICT: the id is taken"},
            security=["bearer"],
        ),
        Endpoint(
            method="POST",
            path=TEST_WEBHOOK_PATH,
            handler=send_test_event,
            errors=ONEBOOKING_ERRORS,
            summary="Send a website a signed test event about one of its bookings, and say how it went",
            tag="onebooking",
            request_model=WebhookTest,
            response_model=WebhookTestOutcome,
            refusals={
                403: "FORBIDDEN: not an admin of the website",
                404: "WEBSITE_NOT_FOUND / NOT_FOUND: no such website, or no such booking of it",
            },
            security=["bearer"],
        ),
    ]
