"""The suppression list: erased customers, whose personal data no pull, push or webhook may bring back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import CustomerSuppression


def email_hash(email: str | None) -> str | None:
    """How the list remembers an erased email: a digest, so erasing a person does not keep their address."""
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def suppressed_ids(session: AsyncSession, customer_ids: Iterable[str]) -> set[str]:
    keys = list(set(customer_ids))
    if not keys:
        return set()
    found = await session.execute(
        select(CustomerSuppression.customer_id).where(CustomerSuppression.customer_id.in_(keys))
    )
    return set(found.scalars())


async def suppressed_emails(session: AsyncSession, emails: Iterable[str | None]) -> dict[str, str]:
    """Erased customers by the hash of their email, for the emails given that belong to one."""
    hashes = {digest for digest in (email_hash(email) for email in emails) if digest is not None}
    if not hashes:
        return {}
    rows = await session.execute(
        select(CustomerSuppression.email_hash, CustomerSuppression.customer_id).where(
            CustomerSuppression.email_hash.in_(hashes)
        )
    )
    return {str(digest): customer_id for digest, customer_id in rows.all()}
