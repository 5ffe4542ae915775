"""Idempotency keys: the same key with the same input gets the first answer, never a second write.

The key is claimed in its own short transaction before any work, so two concurrent
requests with one key cannot both proceed. A request that fails with an expected error
wrote nothing; its key is released so the caller can correct the input and retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import ConflictError, IdempotencyKeyReusedError
from resolvers.results import WriteResult
from sources.cache.models import IdempotencyRecord
from sources.cache.types import utc_now


def request_hash(operation: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps({"operation": operation, "arguments": arguments}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    digest = request_hash(operation, arguments)
    writer = context.services.writer
    try:
        async with writer.transaction() as session:
            session.add(IdempotencyRecord(key=key, operation=operation, request_sha256=digest, status="in_progress"))
    except IntegrityError:
        async with AsyncSession(context.engine) as session:
            record = await session.get_one(IdempotencyRecord, key)
        if record.request_sha256 != digest or record.operation != operation:
            raise IdempotencyKeyReusedError(
                "this idempotency key was used with a different input", field="idempotencyKey"
            ) from None
        if record.status != "completed" or record.response is None:
            raise ConflictError("a request with this idempotency key is still in progress; retry shortly") from None
        return WriteResult.from_json(record.response)
    try:
        result = await perform()
    except BaseException:
        async with writer.transaction() as session:
            await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key == key))
        raise
    async with writer.transaction() as session:
        record = await session.get_one(IdempotencyRecord, key)
        record.status, record.response, record.completed_at = "completed", result.to_json(), utc_now()
    return result
