"""Delivering outbox messages: inline from the mutation that wrote them, or later by the worker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from observability.background import pass_failed
from sources.cache.models import Location, OutboxMessage
from sources.cache.revenue import SplitRules
from sources.cache.types import utc_now
from sources.cache.writer import CacheWriter
from sources.connectors.errors import LocationUnavailable, OperationNotSupported, RejectionCode, UpstreamRejected
from sources.connectors.registry import ConnectorRegistry
from subscriptions.bus import Event, EventBus
from sync.outbox.messages import AnyMessage, DeliveryEffects, UndecodableMessage, decode
from sync.outbox.queue import DEAD, DELIVERED, PENDING, REJECTED, Queued, RetryPolicy, lease_due
from sync.outbox.rows import StateKey, load_messages, load_sync_states

logger = logging.getLogger("gateway.outbox")


class DeliveryStatus(StrEnum):
    DELIVERED = "DELIVERED"
    QUEUED = "QUEUED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    location_id: str
    message_id: str
    status: DeliveryStatus
    code: str | None = None  # why it failed: a RejectionCode, or LOCATION_UNAVAILABLE
    reason: str | None = None


class Deliverer:
    def __init__(
        self,
        writer: CacheWriter,
        connectors: ConnectorRegistry,
        bus: EventBus,
        *,
        split: SplitRules,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.writer = writer
        self.connectors = connectors
        self.bus = bus
        self.split = split
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        # Called with a location that refused a write as stale (it changed the record meanwhile).
        self.on_stale: Callable[[str], None] | None = None
        # One delivery per location at a time keeps a location's messages in the order they were written.
        self._location_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Answers of fanned-out writes waiting to be recorded, and the one recording them (_finish_all).
        self._finishing: list[Finishing] = []
        self._finish_lock = asyncio.Lock()

    async def deliver(self, message: Queued) -> DeliveryOutcome:
        async with AsyncLockFor(self._location_locks, message.location_id):
            return await self._deliver(message.id)

    async def deliver_all(self, messages: Sequence[Queued]) -> list[DeliveryOutcome]:
        """Deliver to several locations in parallel; the outcomes keep the order of the messages.

        A write fanned out to N locations reads its N messages in one transaction (a statement for the
        rows, one for the versions agreed), sends them all at once, and records the answers in one
        (`_finish_all`) once all are in, instead of two transactions per location: on SQLite those
        queue behind the one writer, and every statement is a round trip to its thread, so each
        location added ~3 ms to the slowest answer (bench.writes, fan-out / single). Until recorded, an
        answered message is still pending: after a crash it is sent again under the same idempotency
        key, and the location answers what it did the first time."""
        locations = [message.location_id for message in messages]
        if len(messages) < 2 or len(set(locations)) < len(locations):
            return list(await asyncio.gather(*(self.deliver(message) for message in messages)))
        async with contextlib.AsyncExitStack() as locks:
            for location_id in sorted(locations):  # one order for every caller: no two wait on each other
                await locks.enter_async_context(AsyncLockFor(self._location_locks, location_id))
            async with self.writer.transaction() as session:
                prepared = await self._prepare_all(session, [message.id for message in messages])
            ready = [item for item in prepared if isinstance(item, Prepared)]
            sent = await asyncio.gather(*(self._send(item) for item in ready), return_exceptions=True)
            # What the locations answered is recorded even when sending another failed unexpectedly (a bug).
            answered = [(item, answer) for item, answer in zip(ready, sent, strict=True) if isinstance(answer, Sent)]
            outcomes = await self._finish_all(answered)
            recorded = {item.message_id: outcome for (item, _), outcome in zip(answered, outcomes, strict=True)}
            failure = next((answer for answer in sent if isinstance(answer, BaseException)), None)
            if failure is not None:
                raise failure
            return [item if isinstance(item, DeliveryOutcome) else recorded[item.message_id] for item in prepared]

    async def _deliver(self, message_id: str) -> DeliveryOutcome:
        async with self.writer.transaction() as session:
            (ready,) = await self._prepare_all(session, [message_id])
        if isinstance(ready, DeliveryOutcome):
            return ready
        sent = await self._send(ready)
        async with self.writer.transaction() as session:
            ((outcome, effects),) = await self._record_all(session, [(ready, sent)])
        await self._after(ready, sent, outcome, effects)
        return outcome

    async def _prepare_all(self, session: AsyncSession, message_ids: Sequence[str]) -> list[Prepared | DeliveryOutcome]:
        """Each message ready to send, or its outcome when there is nothing to send."""
        decoded = [await self._decode(session, message) for message in await load_messages(session, message_ids)]
        # The version the gateway last agreed with each location: a write never overwrites a newer edit there.
        states = await load_sync_states(session, [key for _, key in decoded if key is not None])
        prepared: list[Prepared | DeliveryOutcome] = []
        for ready, key in decoded:
            state = states.get(key) if key is not None else None
            if isinstance(ready, Prepared) and state is not None:
                ready = dataclasses.replace(ready, outgoing=ready.outgoing.expecting(state.remote_version))
            prepared.append(ready)
        return prepared

    async def _decode(
        self, session: AsyncSession, message: OutboxMessage
    ) -> tuple[Prepared | DeliveryOutcome, StateKey | None]:
        """The message as it goes out now, and the agreement whose version it must expect, if any."""
        if message.status != PENDING:
            return _outcome_of(message), None
        try:
            stored = decode(message.operation, message.payload)
        except UndecodableMessage as error:
            # No message type reads it (written by a newer gateway, or damaged): dead-lettered at once, so it
            # is visible and replayable once a gateway that reads it runs, instead of failing every pass.
            message.status, message.last_error = DEAD, str(error)
            logger.error("outbox %s to %s dead-lettered: %s", message.id, message.location_id, error)
            failed = DeliveryOutcome(message.location_id, message.id, DeliveryStatus.FAILED, "UNDECODABLE", str(error))
            return failed, None
        outgoing = await stored.prepare(session)
        ready = Prepared(message.id, message.location_id, message.idempotency_key or message.id, stored, outgoing)
        key = (message.entity_type, message.entity_id, message.location_id) if outgoing.expects_version() else None
        return ready, key

    async def _send(self, ready: Prepared) -> Sent:
        """The location's answer: its acknowledgement, or why it did not take the message."""
        connector = self.connectors.get(ready.location_id)
        try:
            if connector is None:
                raise LocationUnavailable(ready.location_id, "no connector is configured for this location")
            return Sent(ack=await ready.outgoing.send(connector, ready.key))
        except LocationUnavailable as error:
            return Sent(unavailable=error)
        except (UpstreamRejected, OperationNotSupported) as error:
            rejection = (
                error
                if isinstance(error, UpstreamRejected)
                else UpstreamRejected(ready.location_id, RejectionCode.INVALID_INPUT, error.message)
            )
            return Sent(rejection=rejection)

    async def _record_all(
        self, session: AsyncSession, answers: Sequence[tuple[Prepared, Sent]]
    ) -> list[tuple[DeliveryOutcome, DeliveryEffects]]:
        """The answers written to the cache, inside the caller's transaction: every row read first (one
        statement for the outbox rows, the delivered ones' handlers one per message type), then changed."""
        rows = await load_messages(session, [ready.message_id for ready, _ in answers])
        delivered: dict[type[AnyMessage], list[int]] = defaultdict(list)
        for index, (ready, sent) in enumerate(answers):
            if sent.unavailable is None and sent.rejection is None:
                delivered[type(ready.stored)].append(index)
        effects: dict[int, DeliveryEffects] = {}
        for message_type, indexes in delivered.items():
            deliveries = [(answers[i][0].stored, answers[i][0].location_id, answers[i][1].ack) for i in indexes]
            effects.update(zip(indexes, await message_type.delivered_all(session, deliveries, self.split), strict=True))
        results = []
        for index, ((ready, sent), message) in enumerate(zip(answers, rows, strict=True)):
            results.append(await self._record(session, message, ready, sent, effects.get(index)))
        return results

    async def _record(
        self,
        session: AsyncSession,
        message: OutboxMessage,
        ready: Prepared,
        sent: Sent,
        delivered: DeliveryEffects | None,
    ) -> tuple[DeliveryOutcome, DeliveryEffects]:
        """One answer written to the cache (`delivered`: what its handler made of an acknowledgement)."""
        message_id, location_id = ready.message_id, ready.location_id
        message.attempts += 1
        if sent.unavailable is not None:
            error = sent.unavailable
            message.last_error = error.message
            if message.attempts >= self.policy.max_attempts:
                message.status = DEAD
            else:
                message.next_attempt_at = utc_now() + self.policy.delay(message.attempts, self.rng)
            await session.execute(
                update(Location)
                .where(Location.id == location_id, Location.status != "offline")
                .values(status="offline")
            )
            if message.status == DEAD:
                outcome = DeliveryOutcome(
                    location_id, message_id, DeliveryStatus.FAILED, "DEAD_LETTERED", error.message
                )
            else:
                outcome = DeliveryOutcome(
                    location_id, message_id, DeliveryStatus.QUEUED, "LOCATION_UNAVAILABLE", error.message
                )
            return outcome, DeliveryEffects()
        if sent.rejection is not None:
            rejection = sent.rejection
            effects = await ready.stored.rejected(session, location_id, rejection)
            message.status, message.last_error = REJECTED, f"{rejection.code}: {rejection.message}"
            outcome = DeliveryOutcome(
                location_id, message_id, DeliveryStatus.FAILED, rejection.code.value, rejection.message
            )
            return outcome, effects
        assert delivered is not None, "an acknowledged message is recorded with its handler's effects"
        message.status, message.delivered_at, message.last_error = DELIVERED, utc_now(), None
        return DeliveryOutcome(location_id, message_id, DeliveryStatus.DELIVERED), delivered

    async def _after(self, ready: Prepared, sent: Sent, outcome: DeliveryOutcome, effects: DeliveryEffects) -> None:
        """Once the answer is committed: log, publish its events, ask for a resync of a stale location."""
        if sent.unavailable is not None:
            logger.info(
                "outbox %s to %s not delivered (%s): %s",
                ready.message_id,
                ready.location_id,
                outcome.status,
                sent.unavailable.message,
            )
        await self._publish(effects)
        if effects.resync_location_id is not None and self.on_stale is not None:
            self.on_stale(effects.resync_location_id)

    async def _finish_all(self, answers: list[tuple[Prepared, Sent]]) -> list[DeliveryOutcome]:
        """Record the answers, with every other fan-out's waiting meanwhile, in one transaction (a group commit);
        then publish what each changed. The first failure is raised once every other answer was seen to."""
        loop = asyncio.get_running_loop()
        waiting: list[Finishing] = [(ready, sent, loop.create_future()) for ready, sent in answers]
        self._finishing.extend(waiting)
        async with self._finish_lock:
            if not all(finished.done() for _, _, finished in waiting):
                batch, self._finishing = self._finishing, []
                await self._record_batch(batch)
        outcomes: list[DeliveryOutcome] = []
        failure: BaseException | None = None
        for ready, sent, finished in waiting:
            if finished.exception() is not None:
                failure = failure or finished.exception()
                continue
            outcome, effects = finished.result()
            await self._after(ready, sent, outcome, effects)
            outcomes.append(outcome)
        if failure is not None:
            raise failure
        return outcomes

    async def _record_batch(self, batch: list[Finishing]) -> None:
        try:
            async with self.writer.transaction() as session:
                results = await self._record_all(session, [(ready, sent) for ready, sent, _ in batch])
        except Exception:  # noqa: BLE001 - one answer's failure must not be its neighbours': each on its own
            for ready, sent, finished in batch:
                try:
                    async with self.writer.transaction() as session:
                        (result,) = await self._record_all(session, [(ready, sent)])
                    finished.set_result(result)
                except Exception as error:  # noqa: BLE001 - handed to the one waiting for this answer
                    finished.set_exception(error)
            return
        for (_, _, finished), result in zip(batch, results, strict=True):
            finished.set_result(result)

    async def _publish(self, effects: DeliveryEffects) -> None:
        for topic, payload in effects.events:
            await self.bus.publish(Event(topic, payload))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A pending message decoded and ready to send."""

    message_id: str
    location_id: str
    key: str
    stored: AnyMessage
    outgoing: AnyMessage


@dataclass(frozen=True, slots=True)
class Sent:
    """What the location answered: an acknowledgement, a rejection, or no answer (exactly one is set)."""

    ack: Any = None
    rejection: UpstreamRejected | None = None
    unavailable: LocationUnavailable | None = None


Finishing = tuple[Prepared, Sent, "asyncio.Future[tuple[DeliveryOutcome, DeliveryEffects]]"]


class AsyncLockFor:
    """`async with` the lock of one key from a dict of locks."""

    def __init__(self, locks: dict[str, asyncio.Lock], key: str) -> None:
        self.lock = locks[key]

    async def __aenter__(self) -> None:
        await self.lock.acquire()

    async def __aexit__(self, *_: object) -> None:
        self.lock.release()


def _outcome_of(message: OutboxMessage) -> DeliveryOutcome:
    if message.status == DELIVERED:
        return DeliveryOutcome(message.location_id, message.id, DeliveryStatus.DELIVERED)
    if message.status == PENDING:
        return DeliveryOutcome(message.location_id, message.id, DeliveryStatus.QUEUED)
    return DeliveryOutcome(
        message.location_id, message.id, DeliveryStatus.FAILED, message.status.upper(), message.last_error
    )


class OutboxWorker:
    """Retries due messages in the background until each is delivered, rejected or dead."""

    def __init__(self, deliverer: Deliverer, *, poll_seconds: float = 0.5, batch: int = 100) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background:outbox-worker")

    def wake(self) -> None:
        """Look now (a location came back, a message was replayed)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> list[DeliveryOutcome]:
        now = utc_now()
        async with self.deliverer.writer.transaction() as session:
            due = await lease_due(session, now, self.batch, timedelta(seconds=60))
        by_location: dict[str, list[Queued]] = defaultdict(list)
        for message in due:
            by_location[message.location_id].append(Queued(message.id, message.location_id))

        async def drain(queued: list[Queued]) -> list[DeliveryOutcome]:
            outcomes = []
            for message in queued:
                outcomes.append(await self.deliverer.deliver(message))
                if outcomes[-1].status is DeliveryStatus.QUEUED:
                    break  # the location is down again; keep the rest in order for later
            return outcomes

        results = await asyncio.gather(
            *(
                asyncio.create_task(drain(ids), name=f"background:outbox:{location}")
                for location, ids in by_location.items()
            )
        )
        return [outcome for outcomes in results for outcome in outcomes]

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - pass_failed logs it
                pass_failed(logger, "outbox worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
