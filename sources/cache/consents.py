"""Consent as the cache records it: the purposes, the current state of each (the newest record per purpose), and
the one question the sync paths ask before a customer's data leaves for another location."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import ConsentRecord
from sources.cache.types import utc_now


class Purpose(StrEnum):
    """The Booksy consent manager's purposes."""

    DATA_SHARING = "data_sharing"  # the customer's record may travel to the network's other locations
    APPOINTMENT_HISTORY = "appointment_history"
    CONTACT_INFO = "contact_info"
    SERVICE_PREFERENCES = "service_preferences"
    MARKETING = "marketing"


class ConsentState(Protocol):
    @property
    def granted(self) -> bool: ...
    @property
    def expires_at(self) -> datetime | None: ...


def in_force(record: ConsentState | None, now: datetime) -> bool:
    """A grant that has not expired; a withdrawal, an expired grant or no record at all is not."""
    if record is None or not record.granted:
        return False
    return record.expires_at is None or record.expires_at > now


async def may_share(session: AsyncSession, customer_id: str, *, required: bool, now: datetime | None = None) -> bool:
    """May the customer's data go to a location other than their home one?

    With a data-sharing record, its state decides (withdrawn or expired: no). Without one, `required` decides:
    the network's setting GATEWAY_CONSENT_REQUIRED_FOR_SHARING (off: customers known before consent was recorded
    are shared as they always were).
    """
    record = (
        await session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.customer_id == customer_id, ConsentRecord.purpose == Purpose.DATA_SHARING.value)
            .order_by(ConsentRecord.id.desc())
            .limit(1)
        )
    ).scalar()
    if record is None:
        return not required
    return in_force(record, now or utc_now())
