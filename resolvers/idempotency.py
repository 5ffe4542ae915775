"""Idempotency keys: the same key with the same input gets the first answer, never a second write.

The key is claimed in its own short transaction before any work, so two concurrent
requests with one key cannot both proceed. A request that fails with an expected error
wrote nothing; its key is released so the caller can correct the input and retry.

The claim is held by a lease (`idempotency_lease_seconds`) the request renews while it runs. A
process killed mid-mutation stops renewing: once the lease ran out, a retry with the same key takes
the claim over (a conditional UPDATE on the old owner, so of several retries one wins) and finishes
the work. What the dead attempt committed is its outbox messages, written with the cache change in
one transaction and keyed `<key>:...`: the retry delivers those (the location dedupes by the same
key, so it answers the booking it made, never a second one). When it committed nothing, the retry
runs the mutation afresh. A retry while the lease is live is told CONFLICT, with when to try again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import ConflictError, IdempotencyKeyReusedError
from resolvers.results import WriteResult
from sources.cache.leases import LeaseKeeper, expires, new_owner
from sources.cache.models import IdempotencyRecord, OutboxMessage
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sync.outbox.queue import Queued

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps({"operation": operation, "arguments": arguments}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    key: str
    owner: str
    taken_over: bool  # a dead attempt held it before: its committed work is finished, not redone
    since: datetime | None = None  # when the key was claimed: older outbox rows are an attempt that gave it back


class Claims:
    """The idempotency_keys rows of one key: claim, take over, renew, complete, release."""

    def __init__(self, writer: CacheWriter, lease_seconds: float) -> None:
        self.writer = writer
        self.lease_seconds = lease_seconds

    async def claim(self, key: str, operation: str, digest: str) -> Claim | WriteResult:
        """This request's claim on the key, or the first request's answer when it completed."""
        owner = new_owner()
        try:
            async with self.writer.transaction() as session:
                session.add(
                    IdempotencyRecord(
                        key=key,
                        operation=operation,
                        request_sha256=digest,
                        status=IN_PROGRESS,
                        lease_owner=owner,
                        lease_expires_at=expires(self.lease_seconds),
                    )
                )
            return Claim(key, owner, taken_over=False)
        except IntegrityError:
            pass
        async with AsyncSession(self.writer.engine) as session:
            record = await session.get_one(IdempotencyRecord, key)
        if record.request_sha256 != digest or record.operation != operation:
            raise IdempotencyKeyReusedError(
                "this idempotency key was used with a different input", field="idempotencyKey"
            )
        if record.status == COMPLETED and record.response is not None:
            return WriteResult.from_json(record.response)
        now = utc_now()
        if record.lease_expires_at is not None and record.lease_expires_at > now:
            wait = (record.lease_expires_at - now).total_seconds()
            raise ConflictError(
                "a request with this idempotency key is still in progress; retry shortly",
                retry_after=round(max(wait, 0.1), 1),
            )
        if await self._take_over(record, owner, now):
            return Claim(key, owner, taken_over=True, since=record.created_at)
        raise ConflictError(
            "another retry with this idempotency key took it over; retry shortly",
            retry_after=self.lease_seconds,
        )

    async def _take_over(self, seen: IdempotencyRecord, owner: str, now: datetime) -> bool:
        # On the owner this request saw, and only while the lease is still out: one of several retries wins.
        same_owner = (
            IdempotencyRecord.lease_owner.is_(None)
            if seen.lease_owner is None
            else IdempotencyRecord.lease_owner == seen.lease_owner
        )
        async with self.writer.transaction() as session:
            taken = await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.key == seen.key,
                    IdempotencyRecord.status == IN_PROGRESS,
                    same_owner,
                    or_(IdempotencyRecord.lease_expires_at.is_(None), IdempotencyRecord.lease_expires_at <= now),
                )
                .values(lease_owner=owner, lease_expires_at=expires(self.lease_seconds))
            )
        return bool(getattr(taken, "rowcount", 0) == 1)

    async def renew(self, claim: Claim) -> bool:
        async with self.writer.transaction() as session:
            renewed = await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key == claim.key, IdempotencyRecord.lease_owner == claim.owner)
                .values(lease_expires_at=expires(self.lease_seconds))
            )
        return bool(getattr(renewed, "rowcount", 0) == 1)

    async def complete(self, claim: Claim, result: WriteResult) -> None:
        async with self.writer.transaction() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.key == claim.key, IdempotencyRecord.lease_owner == claim.owner)
                .values(status=COMPLETED, response=result.to_json(), completed_at=utc_now(), lease_expires_at=None)
            )

    async def release(self, claim: Claim) -> None:
        async with self.writer.transaction() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.key == claim.key, IdempotencyRecord.lease_owner == claim.owner
                )
            )


async def _committed_messages(context: Context, claim: Claim) -> list[OutboxMessage]:
    """The outbox messages a dead attempt with this key committed (every write keys its messages `<key>:...`)."""
    mine = OutboxMessage.idempotency_key.startswith(f"{claim.key}:", autoescape=True)
    if claim.since is not None:
        mine = mine & (OutboxMessage.created_at >= claim.since)
    async with AsyncSession(context.engine) as session:
        found = await session.execute(
            select(OutboxMessage).where(mine).order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return list(found.scalars())


async def _finish_dead_attempt(context: Context, claim: Claim) -> WriteResult | None:
    """Deliver what the dead attempt committed (again: the locations dedupe by key); None if it committed nothing."""
    messages = await _committed_messages(context, claim)
    if not messages:
        return None
    outcomes = await context.services.deliverer.deliver_all([Queued(row.id, row.location_id) for row in messages])
    # The entity the write was about is the one its last message names (a createBooking that tried a
    # location that turned the slot down went on to the next).
    last = messages[-1]
    return WriteResult(last.entity_type, last.entity_id, tuple(outcomes))


async def run_idempotent(
    context: Context,
    operation: str,
    key: str,
    arguments: dict[str, Any],
    perform: Callable[[], Awaitable[WriteResult]],
) -> WriteResult:
    # The resolvers check their whole input (this key too) before calling here; this is the last guard, since
    # the key is written below and sent to locations as a header.
    bounds.idempotency_key(key)
    lease_seconds = context.settings.idempotency_lease_seconds
    claims = Claims(context.services.writer, lease_seconds)
    claimed = await claims.claim(key, operation, request_hash(operation, arguments))
    if isinstance(claimed, WriteResult):
        return claimed
    # Renewed a few times per lease, so one slow renewal (a busy database) does not let it run out.
    async with LeaseKeeper(lambda: claims.renew(claimed), every=lease_seconds / 3, name=f"idempotency:{key}"):
        try:
            result = await _finish_dead_attempt(context, claimed) if claimed.taken_over else None
            if result is None:
                result = await perform()
        except BaseException:
            await claims.release(claimed)
            raise
        await claims.complete(claimed, result)
    return result
