"""The event bus across gateway processes that share one PostgreSQL database: LISTEN/NOTIFY.

Every process keeps an in-memory bus for its own subscribers (same queues, same overflow
rule). `publish` hands the event to them at once, then queues it for PostgreSQL; one
background task owns one dedicated asyncpg connection, LISTENs on `channel` and sends
queued events with `pg_notify` (many per round trip), so a publisher never waits for the
database. A notification is JSON with the sending process's `origin`; a process ignores
its own (its subscribers already had the event) and delivers the others' to its subscribers.

Limits, and what happens at them:
- NOTIFY payloads must be under 8000 bytes. A bigger event still reaches this process's
  subscribers in full; the other processes get a stub naming only its topic, and each of
  their subscribers of that topic has its missed count raised by one (so the loss shows).
- If the connection drops, the task reconnects (every `reconnect_seconds`) and LISTENs
  again; events published meanwhile wait in a bounded outgoing queue (oldest dropped past
  `outgoing_limit`, counted in `dropped_outgoing`). What other processes sent while this
  one was not listening is lost to its subscribers: NOTIFY keeps nothing for absent listeners.
  A batch whose send failed is sent again after reconnecting, so an event can (rarely: the
  database committed it but the answer was lost) reach the other processes twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from observability.background import raise_if_cancelling
from observability.metrics import Metrics
from subscriptions.bus import Accept, Event, InMemoryEventBus, Observer, Subscription

logger = logging.getLogger("gateway.events")

NOTIFY_LIMIT_BYTES = 8000  # PostgreSQL's default limit: a payload must be shorter than this
BATCH_SIZE = 200
SEND_TIMEOUT_SECONDS = 5.0
FORMAT_VERSION = 1


def asyncpg_dsn(database_url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL such as postgresql+asyncpg://user@host/db."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresEventBus:
    def __init__(
        self,
        dsn: str,
        *,
        queue_size: int = 1000,
        channel: str = "gateway_events",
        outgoing_limit: int = 10_000,
        reconnect_seconds: float = 1.0,
        probe_seconds: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.dsn = dsn
        self.channel = channel
        self.local = InMemoryEventBus(queue_size, metrics)
        self.origin = uuid.uuid4().hex
        # What pg_stat_activity shows for the listening connection.
        self.application_name = f"gateway-events {channel}"[:63]
        self.outgoing_limit = outgoing_limit
        self.reconnect_seconds = reconnect_seconds
        self.probe_seconds = probe_seconds
        self.sent = self.received = self.oversized = self.dropped_outgoing = self.reconnects = 0
        self._outgoing: deque[str] = deque()
        self._in_flight: list[str] = []  # taken from _outgoing, not yet confirmed sent
        self._sequence = itertools.count()
        self._wake = asyncio.Event()
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connects and LISTENs before returning (so the app serves only once it hears the others)."""
        self._connection = await self._connect()
        self._task = asyncio.create_task(self._run(), name="background:event-bus")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await self._send_pending(connection, seconds=1.0)  # what is queued still goes, if it can
                await connection.close(timeout=2.0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                connection.terminate()
        await self.local.aclose()

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    # -- the EventBus interface ----------------------------------------------------------------
    @property
    def metrics(self) -> Metrics:
        return self.local.metrics

    async def publish(self, event: Event) -> None:
        self.local.deliver(event)
        if len(self._outgoing) >= self.outgoing_limit:
            self._outgoing.popleft()
            self.dropped_outgoing += 1
            if self.dropped_outgoing % 1000 == 1:
                logger.warning("event bus: PostgreSQL not keeping up, %d events not sent", self.dropped_outgoing)
        self._outgoing.append(self._encode(event))
        self._wake.set()

    def subscribe(self, topics: str | Iterable[str], accept: Accept | None = None) -> Subscription:
        return self.local.subscribe(topics, accept)

    def subscriber_count(self, topic: str | None = None) -> int:
        return self.local.subscriber_count(topic)

    def observe(self, observer: Observer) -> None:
        self.local.observe(observer)  # every event, this process's and the others', reaches the local bus

    # -- wire format ---------------------------------------------------------------------------
    def _encode(self, event: Event) -> str:
        # The sequence number keeps two equal events distinct: PostgreSQL folds identical payloads sent in
        # one transaction, and a batch is one transaction.
        head: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "origin": self.origin,
            "seq": next(self._sequence),
            "topic": event.topic,
            "at": event.occurred_at.isoformat(),
        }
        message = json.dumps({**head, "payload": event.payload}, separators=(",", ":"), default=str)
        if len(message.encode()) < NOTIFY_LIMIT_BYTES:
            return message
        self.oversized += 1
        logger.warning("event bus: %s event of %d bytes sent to other processes as a stub", event.topic, len(message))
        return json.dumps({**head, "oversized": True}, separators=(",", ":"))

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["origin"] == self.origin:
                return
            self.received += 1
            if message.get("oversized"):
                self.local.note_missed(message["topic"])
                return
            event = Event(message["topic"], message["payload"], datetime.fromisoformat(message["at"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("event bus: ignored a notification that is not a gateway event: %.200s", payload)
            return
        self.local.deliver(event)

    # -- the connection ------------------------------------------------------------------------
    async def _connect(self) -> Any:
        connection = await asyncpg.connect(
            self.dsn, timeout=10, server_settings={"application_name": self.application_name}
        )
        try:
            await connection.add_listener(self.channel, self._on_notification)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(lambda _: self._wake.set())
        return connection

    async def _run(self) -> None:
        while True:
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await self._connect()
                    self.reconnects += 1
                    logger.info("event bus: listening again on %s", self.channel)
                await self._serve(self._connection)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError, ConnectionError) as error:
                raise_if_cancelling()  # aclose() cancelled it mid-statement: asyncpg may say so in its own words
                logger.warning("event bus: PostgreSQL connection lost (%s); reconnecting", error)
            if self._connection is not None and not self._connection.is_closed():
                self._connection.terminate()
            self._connection = None
            await asyncio.sleep(self.reconnect_seconds)

    async def _serve(self, connection: Any) -> None:
        """Sends what is published until the connection is lost; probes it when idle."""
        while not connection.is_closed():
            if not self._outgoing and not self._in_flight:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.probe_seconds)
                except TimeoutError:
                    # A connection that died quietly (no FIN) shows itself only when used.
                    await connection.execute("SELECT 1", timeout=SEND_TIMEOUT_SECONDS)
                    continue
            self._wake.clear()
            await self._send_pending(connection, seconds=SEND_TIMEOUT_SECONDS)
        raise ConnectionError("the listening connection closed")

    async def _send_pending(self, connection: Any, seconds: float) -> None:
        while self._in_flight or self._outgoing:
            if not self._in_flight:
                count = min(BATCH_SIZE, len(self._outgoing))
                self._in_flight = [self._outgoing.popleft() for _ in range(count)]
            await connection.execute(
                "SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message",
                self.channel,
                self._in_flight,
                timeout=seconds,
            )
            self.sent += len(self._in_flight)
            self._in_flight = []
