"""recordConsent and withdrawConsent: one appended consent record each, never an edit of an earlier one.

Who may: the customer themself (a customer token: their own record only), and the staff who collect consent for
a location (location managers and franchisees for customers their locations know, network and hub admins for
anyone). Withdrawing data sharing also cancels what still waits in the outbox to leave for the customer's other
locations, and answers with every location that already holds the customer's data (the gateway cannot unsend it:
erasure is the separate request).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from identity.principal import Role
from resolvers import bounds
from resolvers.authorization import require_acting_location, require_visible_customer
from resolvers.context import Context
from resolvers.errors import InvalidInputError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.validation import require_known_locations
from resolvers.writing import audit_write, get_or_not_found
from sources.cache.consents import Purpose
from sources.cache.models import ConsentRecord, Customer, CustomerMapping
from sources.cache.models.privacy import USER_AGENT_LENGTH
from sources.cache.types import utc_now
from sync.outbox.queue import supersede


class ConsentChannel(StrEnum):
    """How the consent was given or withdrawn."""

    WEBSITE = "website"
    APP = "app"
    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    PAPER = "paper"
    API = "api"


HELD_AT = "heldAt"  # related_ids key: the locations holding the customer's data, comma-separated


@dataclass(frozen=True, slots=True)
class ConsentChange:
    customer_id: str
    purpose: Purpose
    channel: ConsentChannel
    location_id: str | None = None
    expires_at: datetime | None = None
    ip_address: str | None = None
    user_agent: str | None = None


def _ip_address(value: str | None) -> str | None:
    if value is None:
        return None
    bounds.text("ipAddress", value, 45)
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InvalidInputError("`ipAddress` is not an IPv4 or IPv6 address", field="ipAddress") from None


async def _validate(context: Context, change: ConsentChange, key: str, *, granted: bool) -> ConsentChange:
    bounds.idempotency_key(key)
    bounds.key("customerId", change.customer_id)
    bounds.optional_key("locationId", change.location_id)
    expires_at = bounds.optional_instant("expiresAt", change.expires_at)
    if expires_at is not None and not granted:
        raise InvalidInputError("a withdrawal does not expire: leave `expiresAt` out", field="expiresAt")
    if expires_at is not None and expires_at <= utc_now():
        raise InvalidInputError("`expiresAt` must be in the future", field="expiresAt")
    ip_address = _ip_address(change.ip_address)
    user_agent = bounds.optional_text("userAgent", change.user_agent, USER_AGENT_LENGTH)
    await require_visible_customer(context, change.customer_id)
    if change.location_id is not None:
        try:
            await require_known_locations(context.engine, [change.location_id])
        except InvalidInputError as error:
            raise InvalidInputError(error.message, field="locationId") from None
        if context.principal.role is not Role.CUSTOMER:
            require_acting_location(context, change.location_id)
    return ConsentChange(
        change.customer_id,
        change.purpose,
        change.channel,
        change.location_id,
        expires_at,
        ip_address,
        user_agent,
    )


async def _append(context: Context, change: ConsentChange, key: str, *, granted: bool) -> WriteResult:
    change = await _validate(context, change, key, granted=granted)
    arguments = {
        "customer_id": change.customer_id,
        "purpose": change.purpose.value,
        "granted": granted,
        "channel": change.channel.value,
        "location_id": change.location_id,
        "expires_at": None if change.expires_at is None else change.expires_at.isoformat(),
        "ip_address": change.ip_address,
        "user_agent": change.user_agent,
    }

    async def perform() -> WriteResult:
        async with context.services.writer.transaction() as session:
            customer: Customer = await get_or_not_found(session, Customer, change.customer_id, "customer")
            principal = context.principal
            record = ConsentRecord(
                customer_id=customer.id,
                purpose=change.purpose.value,
                granted=granted,
                recorded_at=utc_now(),
                expires_at=change.expires_at,
                actor=principal.subject,
                actor_role=principal.role.value,
                location_id=change.location_id,
                channel=change.channel.value,
                ip_address=change.ip_address,
                user_agent=change.user_agent,
            )
            session.add(record)
            await session.flush()
            # The JSON summary the REST shims read (Booksy consent-records): the current answer per purpose.
            customer.consents = {
                **(customer.consents or {}),
                change.purpose.value: granted,
                "recorded_at": record.recorded_at.isoformat(),
            }
            held_at = sorted(
                (
                    await session.execute(
                        select(CustomerMapping.location_id).where(CustomerMapping.customer_id == customer.id)
                    )
                ).scalars()
            )
            if change.purpose is Purpose.DATA_SHARING and not granted:
                for location_id in held_at:
                    if location_id != customer.primary_location_id:
                        await supersede(session, "customer", customer.id, location_id, "data sharing withdrawn")
            await audit_write(
                context,
                session,
                action="customer.consent." + ("record" if granted else "withdraw"),
                entity_type="customer",
                entity_id=customer.id,
                location_id=change.location_id,
                details={"purpose": change.purpose.value, "consent_record_id": record.id},
            )
        return WriteResult(
            "consent_record", str(record.id), (), {"customerId": customer.id, HELD_AT: ",".join(held_at)}
        )

    operation = "recordConsent" if granted else "withdrawConsent"
    return await run_idempotent(context, operation, key, arguments, perform)


async def record_consent(context: Context, change: ConsentChange, key: str) -> WriteResult:
    return await _append(context, change, key, granted=True)


async def withdraw_consent(context: Context, change: ConsentChange, key: str) -> WriteResult:
    return await _append(context, change, key, granted=False)
