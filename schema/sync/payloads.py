"""What the sync mutations share: an engine call whose refusals become payload errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from strawberry.types import Info

from resolvers.errors import GatewayError
from schema.payloads import MutationError
from schema.sync.types import Conflict, SyncJob

T = TypeVar("T")


async def attempt(info: Info, perform: Callable[[], Awaitable[T]]) -> tuple[T | None, list[MutationError]]:
    """perform's answer, or None and the expected failure as a payload error (Saleor style).

    perform converts the input too, so a bad id is a payload error rather than a top-level one.
    """
    try:
        answer = await perform()
    except GatewayError as error:
        return None, [MutationError.from_gateway_error(error)]
    # The engine changed the cache behind this request's loaders: what the payload reads must be fresh.
    info.context.reset_loaders()
    return answer, []


async def load_sync_job(info: Info, key: str | None) -> SyncJob | None:
    row = None if key is None else await info.context.loaders.sync_job_by_id.load(key)
    return None if row is None else SyncJob.from_row(row)


async def load_conflict(info: Info, key: str | None) -> Conflict | None:
    row = None if key is None else await info.context.loaders.conflict_by_id.load(key)
    return None if row is None else Conflict.from_row(row)
