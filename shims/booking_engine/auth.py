"""Who a token is, and a customer's profile for the booking engine: POST auth/validate-token and
GET auth/user/{user_id}."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from identity.principal import ANONYMOUS, Principal
from identity.tokens import InvalidToken
from resolvers.permissions import Permission, granted
from shims.booking_engine.shape import (
    ERRORS,
    INVALID,
    KEY_SCHEMA,
    PREFIX,
    TAG,
    USER_ERRORS,
    Success,
    answer,
    caller,
)
from shims.common.callers import services_of, spend
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal

# Only the characters of a compact JWS: anything else cannot be one of the gateway's tokens.
TOKEN_PATTERN = r"^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*$"


class TokenToValidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=5, max_length=8192, pattern=TOKEN_PATTERN)


class TokenInfo(BaseModel):
    valid: bool = True
    subject: str = Field(max_length=200)
    role: str = Field(max_length=32)
    locations: list[str] = Field(max_length=1000)
    customer_id: str | None = Field(max_length=64)
    resource_id: str | None = Field(max_length=64)
    expires_at: datetime


class Identity(BaseModel):
    location_id: str = Field(max_length=64)
    local_id: str = Field(max_length=64, description="The customer's id at that location (a hotel's guest id)")
    loyalty_points: int = Field(ge=0, le=2**31)


class User(BaseModel):
    id: str = Field(max_length=64)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str | None = Field(max_length=254, description="Shown to callers who may see contact data")
    phone: str | None = Field(max_length=32, description="Shown to callers who may see contact data")
    identities: list[Identity] = Field(max_length=1000)


class UserAnswer(BaseModel):
    user: User


async def validate_token(request: Request) -> Response:
    # The token in the body is what is checked: the caller needs none of its own, and is counted by address.
    client = request.client.host if request.client else "unknown"
    spend(request, Principal(subject=f"anonymous:{client}", role=ANONYMOUS.role))
    body = await parse_body(request, TokenToValidate, code=INVALID)
    try:
        principal, expires_at = await services_of(request).authenticator.verified(body.token)
    except InvalidToken as error:
        raise Refusal(401, "INVALID_TOKEN", str(error)) from None
    info = TokenInfo(
        subject=principal.subject,
        role=principal.role.value,
        locations=sorted(principal.location_ids),
        customer_id=principal.customer_id,
        resource_id=principal.resource_id,
        expires_at=datetime.fromtimestamp(expires_at, UTC),
    )
    return answer(info)


async def user(request: Request) -> Response:
    context = await caller(request, Permission.VIEW_CUSTOMERS)
    user_id = request.path_params["user_id"]
    # The row scope decides: a customer sees themself; staff the customers known at their locations.
    row = await context.loaders.customer_by_id.load(user_id)
    if row is None:
        raise Refusal(404, "USER_NOT_FOUND", f"no user has id {user_id!r}")
    contact = granted(context.principal, Permission.VIEW_CONTACT_DATA, context.settings)
    mappings = await context.loaders.customer_mappings_by_customer_id.load(user_id)
    profile = User(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email if contact else None,
        phone=row.phone if contact else None,
        identities=[
            Identity(location_id=m.location_id, local_id=m.local_customer_id, loyalty_points=m.loyalty_points)
            for m in mappings
        ],
    )
    return answer(UserAnswer(user=profile))


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            method="POST",
            path=f"{PREFIX}/auth/validate-token",
            handler=validate_token,
            errors=ERRORS,
            summary="Who a token the gateway issued speaks for, and until when",
            tag=TAG,
            request_model=TokenToValidate,
            response_model=Success[TokenInfo],
            description="401 INVALID_TOKEN when the token does not verify (bad signature, expired, another issuer).",
        ),
        Endpoint(
            method="GET",
            path=f"{PREFIX}/auth/user/{{user_id}}",
            handler=user,
            errors=USER_ERRORS,
            summary="A customer's profile: the customer themself, or staff of a location that knows them",
            tag=TAG,
            response_model=Success[UserAnswer],
            refusals={403: "FORBIDDEN: the role may not read customers", 404: "USER_NOT_FOUND"},
            security=["bearer"],
            path_schemas={"user_id": KEY_SCHEMA},
        ),
    ]
