"""Single-flight: concurrent identical calls share one execution and its outcome.

Not a cache: the key is forgotten the moment the shared call ends, so the next caller
starts a fresh one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    waiters: int = 0


class SingleFlight(Generic[T]):
    """Callers of `run` with equal keys while one is in flight get that one's result or exception.

    The shared work runs in its own task, so one caller being cancelled does not cancel
    it for the others; it is cancelled only when every caller has gone.
    """

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    def in_flight(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = self._start(key, work)
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._forget(key, flight)
                flight.task.cancel()

    def _start(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> _Flight[T]:
        async def lead() -> T:
            try:
                return await work()
            finally:
                # Forget at completion itself, not in a done-callback a loop turn later,
                # so no caller can join a call that has already finished.
                flight = self._flights.get(key)
                if flight is not None and flight.task is asyncio.current_task():
                    del self._flights[key]

        flight: _Flight[T] = _Flight(asyncio.get_running_loop().create_task(lead()))
        self._flights[key] = flight
        return flight

    def _forget(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
