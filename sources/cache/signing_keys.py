"""The gateway's own JWT signing keys, kept in the cache database so every replica and the CLI share them.

Each key is an HS256 secret, stored encrypted under the master key. The newest key without `retires_at` is
the current one: tokens are signed with it. Rotating gives every current key a `retires_at` (now + grace)
and adds a new one, so tokens signed before the rotation keep working for the grace period.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.secrets import SecretBox
from identity.tokens import VerificationKey
from sources.cache.models import SigningKey
from sources.cache.types import utc_now

ALGORITHM = "HS256"


def _purpose(kid: str) -> str:
    return f"signing-key:{kid}"


def _verification_key(row: SigningKey, box: SecretBox) -> VerificationKey:
    secret = box.decrypt(row.secret, purpose=_purpose(row.kid)).encode()
    retires_at = row.retires_at.timestamp() if row.retires_at is not None else None
    return VerificationKey(kid=row.kid, algorithm=row.algorithm, key=secret, retires_at=retires_at)


def _new_row(box: SecretBox, now: datetime) -> SigningKey:
    kid = f"gw-{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(48)
    return SigningKey(kid=kid, algorithm=ALGORITHM, secret=box.encrypt(secret, purpose=_purpose(kid)), created_at=now)


async def load_signing_keys(engine: AsyncEngine, box: SecretBox) -> list[VerificationKey]:
    """Every key that still verifies tokens, newest first (the first is the current one, if any is)."""
    now = utc_now()
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(SigningKey)
                .where(or_(SigningKey.retires_at.is_(None), SigningKey.retires_at > now))
                .order_by(SigningKey.retires_at.is_not(None), SigningKey.created_at.desc(), SigningKey.kid)
            )
        ).all()
    return [_verification_key(SigningKey(**row._asdict()), box) for row in rows]


async def ensure_signing_key(engine: AsyncEngine, box: SecretBox) -> None:
    """A current key exists afterwards (the first start creates one)."""
    async with engine.begin() as connection:
        current = await connection.scalar(select(SigningKey.kid).where(SigningKey.retires_at.is_(None)).limit(1))
        if current is None:
            row = _new_row(box, utc_now())
            await connection.execute(
                insert(SigningKey).values(
                    kid=row.kid, algorithm=row.algorithm, secret=row.secret, created_at=row.created_at
                )
            )


async def rotate_signing_key(engine: AsyncEngine, box: SecretBox, *, grace_seconds: int) -> str:
    """A new current key; the previous ones verify tokens for `grace_seconds` more at most (a key already in
    its grace keeps the shorter of the two, so `grace_seconds=0` ends every earlier key now: a leaked key's
    answer). Returns the new kid."""
    now = utc_now()
    row = _new_row(box, now)
    retires_at = now + timedelta(seconds=grace_seconds)
    async with engine.begin() as connection:
        await connection.execute(
            update(SigningKey)
            .where(or_(SigningKey.retires_at.is_(None), SigningKey.retires_at > retires_at))
            .values(retires_at=retires_at)
        )
        await connection.execute(
            insert(SigningKey).values(
                kid=row.kid, algorithm=row.algorithm, secret=row.secret, created_at=row.created_at
            )
        )
    return row.kid
