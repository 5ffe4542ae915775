"""The event bus mutations and sync publish on and subscriptions read from.

Publishing never waits for a subscriber. Each subscriber has its own bounded queue
(`Settings.subscriber_queue_size` events). Overflow rule: when an event arrives and
the queue is full, the OLDEST queued event is dropped to make room, and the
subscriber's missed counter goes up by one; the next event it takes carries that
count in `Event.missed` (and the counter starts again from zero). So a slow
subscriber costs at most `queue_size` events of memory, never slows the publisher
or anyone else, and learns how many events it lost. A subscriber's `accept` filter
runs before its queue, so events it would not see never take room or count as missed.

A subscription is registered when `subscribe()` is called and unregistered when it
is closed (`aclose()`, leaving `async with`, or the bus closing), so a dropped
WebSocket leaves no queue behind.

The bus's `Metrics` count, per topic, the events subscribers took (sent) and the ones
they lost (dropped: overflow, or never reached this process).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from observability.metrics import Metrics
from sources.cache.types import utc_now

logger = logging.getLogger("gateway.events")

Accept = Callable[["Event"], bool]
# Told the topic of every event this process's subscribers are offered (or lose before it reached the process),
# as it is published; not a subscriber (no queue, not counted): the response cache, which only needs to know.
Observer = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime = field(default_factory=utc_now)
    # Set only on the copy one subscriber receives: events it lost to overflow just before this one.
    missed: int = 0


class Subscription:
    """One subscriber's bounded queue of events; iterate it, close it when done."""

    def __init__(
        self, bus: InMemoryEventBus, topics: frozenset[str], accept: Accept | None, size: int, metrics: Metrics
    ) -> None:
        self.topics = topics
        self._bus = bus
        self._metrics = metrics
        self._accept = accept
        self._queue: deque[Event] = deque(maxlen=size)
        self._missed = 0
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        # How many subscribers this subscription reads for: more than one when a shared subscription
        # (schema/subscriptions/fanout.py) hands each event on to its members. Counted by `subscriber_count`.
        self.members = 1
        # What such a subscription holds beyond its own queue (its members' queues), for `queued_events`.
        self.held: Callable[[], int] | None = None

    def offer(self, event: Event) -> None:
        """Called by the publisher: never blocks, never raises for a full queue."""
        if self.closed or not self._accepts(event):
            return
        if len(self._queue) == self._queue.maxlen:
            self._missed += 1  # append below drops the oldest
            self._metrics.events_dropped.labels(self._queue[0].topic).inc()
        self._queue.append(event)
        self._wake()

    def _accepts(self, event: Event) -> bool:
        if self._accept is None:
            return True
        try:
            return self._accept(event)
        except Exception:
            # A filter that fails on an odd payload must not fail the publisher (a committed write).
            logger.exception("event bus: a subscriber's filter failed on a %s event", event.topic)
            return False

    def note_missed(self, topic: str, count: int = 1) -> None:
        """Events this subscriber should have had but that never reached this process (see the PostgreSQL bus)."""
        if not self.closed:
            self._missed += count
            self._metrics.events_dropped.labels(topic).inc(count)

    @property
    def queued(self) -> int:
        return len(self._queue) + (self.held() if self.held is not None else 0)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event = self._queue.popleft()
        if self.held is None:  # a shared subscription's events are counted as its members take them
            self._metrics.events_sent.labels(event.topic).inc()
        if self._missed:
            event, self._missed = replace(event, missed=self._missed), 0
        return event

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._bus._forget(self)
        self._wake()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class EventBus(Protocol):
    @property
    def metrics(self) -> Metrics: ...

    async def publish(self, event: Event) -> None: ...

    def subscribe(self, topics: str | Iterable[str], accept: Accept | None = None) -> Subscription: ...

    def subscriber_count(self, topic: str | None = None) -> int: ...

    def observe(self, observer: Observer) -> None: ...

    async def aclose(self) -> None: ...


class InMemoryEventBus:
    """Events through memory, to the subscribers of this process."""

    def __init__(self, queue_size: int = 1000, metrics: Metrics | None = None) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        # Without the app's metrics (a test's bus), counted in a registry nobody scrapes.
        self.metrics = metrics or Metrics()
        self._by_topic: dict[str, set[Subscription]] = {}
        self._observers: list[Observer] = []

    async def publish(self, event: Event) -> None:
        self.deliver(event)

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def _tell(self, topic: str) -> None:
        for observer in self._observers:
            try:
                observer(topic)
            except Exception:
                logger.exception("event bus: an observer failed on a %s event", topic)

    def deliver(self, event: Event) -> None:
        self._tell(event.topic)
        # A copy of the set: offering never subscribes or unsubscribes, but a closed subscriber must not
        # change the set under the loop should that ever change.
        for subscription in tuple(self._by_topic.get(event.topic, ())):
            subscription.offer(event)

    def note_missed(self, topic: str, count: int = 1) -> None:
        self._tell(topic)
        for subscription in tuple(self._by_topic.get(topic, ())):
            subscription.note_missed(topic, count)

    def subscribe(self, topics: str | Iterable[str], accept: Accept | None = None) -> Subscription:
        wanted = frozenset([topics] if isinstance(topics, str) else topics)
        subscription = Subscription(self, wanted, accept, self.queue_size, self.metrics)
        for topic in wanted:
            self._by_topic.setdefault(topic, set()).add(subscription)
        return subscription

    def subscriber_count(self, topic: str | None = None) -> int:
        """Subscribers, counting every member of a shared subscription."""
        if topic is not None:
            return sum(subscription.members for subscription in self._by_topic.get(topic, ()))
        everyone = {subscription for subscribers in self._by_topic.values() for subscription in subscribers}
        return sum(subscription.members for subscription in everyone)

    def queued_events(self) -> int:
        """Events waiting in every subscriber's queue: what the bus holds in memory."""
        everyone = {subscription for subscribers in self._by_topic.values() for subscription in subscribers}
        return sum(subscription.queued for subscription in everyone)

    async def aclose(self) -> None:
        """Ends every subscription (their iterators stop), e.g. when the app shuts down."""
        for subscription in {s for subscribers in self._by_topic.values() for s in subscribers}:
            subscription.close()

    def _forget(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_topic[topic]
