"""Leases: what a process claims (an idempotency key, a sync job) it holds only while it keeps renewing it.

A `kill -9` stops the renewals, the lease runs out within seconds, and the next process takes the claim
over with a conditional UPDATE on the owner it saw (DESIGN.md "Crash safety"); of several that try, one wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import TracebackType

from observability.background import pass_failed
from sources.cache.types import utc_now

logger = logging.getLogger("gateway.leases")


def new_owner() -> str:
    """A token naming one holder of one claim (a process may hold many claims; each has its own token)."""
    return uuid.uuid4().hex


def expires(seconds: float, now: datetime | None = None) -> datetime:
    return (now or utc_now()) + timedelta(seconds=seconds)


class LeaseKeeper:
    """Renews a lease every `every` seconds in a background task while the work in its block runs.

    `renew` answers whether the lease is still this holder's; once it says no, `lost` is set and renewal
    stops (another process took the claim over). A renewal that fails for another reason (the database is
    briefly away) is retried at the next beat: the lease is long enough to outlast a few misses.
    """

    def __init__(self, renew: Callable[[], Awaitable[bool]], *, every: float, name: str) -> None:
        self._renew = renew
        self._every = every
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                held = await self._renew()
            except Exception:  # noqa: BLE001 - pass_failed logs it
                pass_failed(logger, "renewing the lease of %s failed; trying again", self._name, level=logging.WARNING)
                continue
            if not held:
                logger.warning("the lease of %s was taken over by another process", self._name)
                self.lost.set()
                return

    async def __aenter__(self) -> LeaseKeeper:
        # The "background:" prefix keeps the renewals out of a request's statement count (tests/conftest.py).
        self._task = asyncio.create_task(self._beat(), name=f"background:lease:{self._name}")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
