"""Every location's credentials at rest (table location_credentials), and nowhere else.

A location has generations of credentials: one row each. The row with no `expires_at` is current; a
rotation adds a row and gives the previous one `expires_at = now + grace`, so a location still holding its
old key keeps working until it has picked up the new one.

- The inbound API key (what the location presents to the gateway) is stored as the SecretBox's keyed hash
  only: it can be checked, never read back. It is shown once, when it is made.
- The outbound credentials (what the gateway presents to the location: api_key, api_secret, client_id,
  client_secret, webhook_secret) are one AES-GCM ciphertext of a JSON object, bound to the location
  (purpose `location-credentials:<id>`), so a ciphertext copied to another location's row does not decrypt.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.secrets import SecretBox, new_api_key
from sources.cache.models import Location, LocationCredential
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter

INBOUND_KEY_PREFIX = "gwk"


def purpose_of(location_id: str) -> str:
    return f"location-credentials:{location_id}"


@dataclass(frozen=True)
class Rotation:
    """What a rotation made: the new inbound key (shown once) and when the previous generation stops working."""

    location_id: str
    api_key: str
    previous_expires_at: datetime | None


class CredentialStore:
    def __init__(self, writer: CacheWriter, box: SecretBox, *, grace_seconds: int) -> None:
        self.writer = writer
        self.box = box
        self.grace = timedelta(seconds=grace_seconds)

    # -- reading ---------------------------------------------------------------------------------
    def decrypted(self, row: LocationCredential) -> dict[str, str]:
        if row.secrets is None:
            return {}
        values = json.loads(self.box.decrypt(row.secrets, purpose=purpose_of(row.location_id)))
        return {str(name): str(value) for name, value in values.items()}

    async def current_row(self, session: AsyncSession, location_id: str) -> LocationCredential | None:
        statement = (
            select(LocationCredential)
            .where(LocationCredential.location_id == location_id, LocationCredential.expires_at.is_(None))
            .order_by(LocationCredential.id.desc())
            .limit(1)
        )
        return (await session.execute(statement)).scalar()

    async def current(self, location_id: str) -> dict[str, str] | None:
        """The outbound credentials the gateway uses with this location now (None: it has none stored)."""
        async with AsyncSession(self.writer.engine) as session:
            row = await self.current_row(session, location_id)
            return None if row is None else self.decrypted(row)

    async def in_force(self, location_id: str, name: str, *, now: datetime | None = None) -> list[str]:
        """One outbound credential (e.g. `webhook_secret`) as every generation still in force holds it, newest
        first: what a location signed just before a rotation still verifies during the grace."""
        now = now or utc_now()
        statement = (
            select(LocationCredential)
            .where(
                LocationCredential.location_id == location_id,
                or_(LocationCredential.expires_at.is_(None), LocationCredential.expires_at > now),
            )
            .order_by(LocationCredential.id.desc())
        )
        async with AsyncSession(self.writer.engine) as session:
            rows = (await session.execute(statement)).scalars().all()
            values = [self.decrypted(row).get(name) for row in rows]
        return list(dict.fromkeys(value for value in values if value))

    async def current_of_active(self) -> dict[str, dict[str, str]]:
        """Outbound credentials of every location that is not retired, by location id."""
        statement = (
            select(LocationCredential)
            .join(Location, Location.id == LocationCredential.location_id)
            .where(LocationCredential.expires_at.is_(None), Location.retired_at.is_(None))
            .order_by(LocationCredential.id)
        )
        async with AsyncSession(self.writer.engine) as session:
            rows = (await session.execute(statement)).scalars().all()
            # Ordered by id: a later current row (there should be one) wins.
            return {row.location_id: self.decrypted(row) for row in rows}

    async def verify(
        self,
        api_key: str | None,
        *,
        kind: str | None = None,
        now: datetime | None = None,
        include_retired: bool = False,
    ) -> str | None:
        """The location presenting this inbound key, if any: the current generation or one still in its grace,
        of a location that is not retired (and of `kind`, when given). With `include_retired`, a retired
        location's key is recognised too, so a caller can say the location is gone rather than the key wrong;
        such a caller must then refuse it."""
        if not api_key:
            return None
        now = now or utc_now()
        presented = self.box.hash_key(api_key)
        # The lookup is by the keyed hash, which an attacker cannot compute without the master key, so how long
        # it takes says nothing about any stored key; the comparison itself is constant-time all the same.
        statement = (
            select(LocationCredential.location_id, LocationCredential.api_key_hash, LocationCredential.expires_at)
            .join(Location, Location.id == LocationCredential.location_id)
            .where(LocationCredential.api_key_hash == presented)
        )
        if not include_retired:
            statement = statement.where(Location.retired_at.is_(None))
        if kind is not None:
            statement = statement.where(Location.kind == kind)
        async with self.writer.engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        match = None
        for location_id, stored, expires_at in rows:
            valid = expires_at is None or expires_at > now
            if hmac.compare_digest(stored or "", presented) and valid:
                match = location_id
        return match

    # -- writing (inside the caller's transaction) -------------------------------------------------
    async def add_generation(
        self,
        session: AsyncSession,
        location_id: str,
        *,
        credentials: Mapping[str, str],
        inbound_api_key: str | None,
        now: datetime | None = None,
        grace: timedelta | None = None,
    ) -> datetime | None:
        """A new current generation; the previous one expires after the grace. Returns when it expires."""
        now = now or utc_now()
        expires_at = None
        previous = await self.current_row(session, location_id)
        if previous is not None:
            expires_at = now + (self.grace if grace is None else grace)
            await session.execute(
                update(LocationCredential)
                .where(LocationCredential.location_id == location_id, LocationCredential.expires_at.is_(None))
                .values(expires_at=expires_at)
            )
        plaintext = json.dumps(dict(credentials), sort_keys=True)
        session.add(
            LocationCredential(
                location_id=location_id,
                api_key_hash=None if inbound_api_key is None else self.box.hash_key(inbound_api_key),
                secrets=self.box.encrypt(plaintext, purpose=purpose_of(location_id)),
                created_at=now,
            )
        )
        await session.flush()
        return expires_at

    async def ensure(
        self,
        session: AsyncSession,
        location_id: str,
        *,
        credentials: Mapping[str, str],
        inbound_api_key: str | None,
        now: datetime | None = None,
    ) -> bool:
        """Make these the current credentials (a new generation only when they differ); True if they changed."""
        current = await self.current_row(session, location_id)
        if current is not None and self.decrypted(current) == dict(credentials):
            same_key = (
                current.api_key_hash is None
                if inbound_api_key is None
                else current.api_key_hash is not None and self.box.key_matches(inbound_api_key, current.api_key_hash)
            )
            if same_key:
                return False
        await self.add_generation(
            session, location_id, credentials=credentials, inbound_api_key=inbound_api_key, now=now
        )
        return True

    async def rotate_inbound(
        self, session: AsyncSession, location_id: str, *, now: datetime | None = None, grace: timedelta | None = None
    ) -> Rotation:
        """A fresh inbound key, the outbound credentials kept; the previous key works for the grace."""
        current = await self.current_row(session, location_id)
        credentials = {} if current is None else self.decrypted(current)
        api_key = new_api_key(INBOUND_KEY_PREFIX)
        expires_at = await self.add_generation(
            session, location_id, credentials=credentials, inbound_api_key=api_key, now=now, grace=grace
        )
        return Rotation(location_id, api_key, expires_at)

    async def rotate(self, location_id: str, *, now: datetime | None = None) -> Rotation:
        """rotate_inbound in a transaction of its own."""
        async with self.writer.transaction() as session:
            return await self.rotate_inbound(session, location_id, now=now)
