"""One source of items shared by many subscribers, each with its own bounded queue (the bus's overflow rule).

A shared subscription (shared.py) reads the bus once and turns each event into one
answer; `Fanout.offer` puts that one answer in every member's queue. A member that reads too slowly loses
the OLDEST queued item when a new one arrives and its queue is full, and counts it as missed, exactly as a
bus `Subscription` does: the others lose nothing and are told nothing. `take` returns the item with the
count of items this member lost just before it (then the count starts again from zero).

Offering never blocks and never awaits: the source is never slowed by its slowest member.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from observability.metrics import Metrics

T = TypeVar("T")


class FanoutMember(Generic[T]):
    """One subscriber of a `Fanout`: a bounded queue of shared items; `take` them, `close` when leaving."""

    __slots__ = ("_fanout", "_finished", "_missed", "_queue", "_waiter", "closed")

    def __init__(self, fanout: Fanout[T], size: int) -> None:
        self._fanout = fanout
        self._queue: deque[tuple[T, str]] = deque(maxlen=size)
        self._missed = 0
        self._waiter: asyncio.Future[None] | None = None
        self._finished = False
        self.closed = False

    def offer(self, item: T, topic: str) -> None:
        if self.closed or self._finished:
            return
        if len(self._queue) == self._queue.maxlen:
            self._missed += 1  # the append below drops the oldest
            self._fanout.metrics.events_dropped.labels(self._queue[0][1]).inc()
        self._queue.append((item, topic))
        self._wake()

    def finish(self) -> None:
        """No more items will come: `take` returns what is queued, then None."""
        self._finished = True
        self._wake()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def take(self) -> tuple[T, int] | None:
        """The next item and how many this member lost just before it; None once finished or closed."""
        while not self._queue:
            if self.closed or self._finished:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item, topic = self._queue.popleft()
        self._fanout.sent(topic).inc()
        missed, self._missed = self._missed, 0
        return item, missed

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._fanout._forget(self)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Fanout(Generic[T]):
    """Items offered once, queued for every member; `on_empty` runs when the last member leaves."""

    def __init__(self, queue_size: int, metrics: Metrics, on_empty: Callable[[], None]) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self.metrics = metrics
        self._on_empty = on_empty
        # A dict, not a set: members are offered items in the order they joined.
        self._members: dict[FanoutMember[T], None] = {}
        self._sent: dict[str, Any] = {}  # the counter per topic: looked up once, not once per member and event

    def sent(self, topic: str) -> Any:
        counter = self._sent.get(topic)
        if counter is None:
            counter = self._sent[topic] = self.metrics.events_sent.labels(topic)
        return counter

    def join(self) -> FanoutMember[T]:
        member: FanoutMember[T] = FanoutMember(self, self.queue_size)
        self._members[member] = None
        return member

    def offer(self, item: T, topic: str) -> None:
        for member in tuple(self._members):
            member.offer(item, topic)

    def finish(self) -> None:
        for member in tuple(self._members):
            member.finish()

    def __len__(self) -> int:
        return len(self._members)

    def queued(self) -> int:
        return sum(member.queued for member in self._members)

    def _forget(self, member: FanoutMember[T]) -> None:
        if member not in self._members:
            return
        del self._members[member]
        if not self._members:
            self._on_empty()
