"""The event bus mutations and sync publish on and subscriptions read from.

In one process events go through memory. Each subscriber has a bounded queue: a
subscriber that falls behind loses its oldest events (and is told how many) rather
than slowing publishers or growing memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sources.cache.types import utc_now


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime = field(default_factory=utc_now)


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, topic: str) -> AsyncIterator[Event]: ...


class InMemoryEventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}
        self.dropped = 0

    async def publish(self, event: Event) -> None:
        for queue in self._subscribers.get(event.topic, ()):
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(event)

    async def subscribe(self, topic: str) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self.queue_size)
        self._subscribers.setdefault(topic, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[topic].discard(queue)
