"""From a bus subscription to the stream a subscription field returns; a context of its own per operation."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, fields, replace
from typing import Any, Generic, TypeVar

from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionResult, Info

from resolvers.context import Context
from resolvers.event_streams import Event, Subscription, subscribe
from schema.errors import translate_errors

logger = logging.getLogger("gateway.subscriptions")

T = TypeVar("T")


class EventStream(Generic[T]):
    """The events the caller may see and asked for, converted to their GraphQL type.

    The bus subscription exists from the moment the field resolves (not from the first read), so
    nothing published after the operation started is missed; closing the stream unsubscribes.
    """

    def __init__(self, subscription: Subscription, context: Context, convert: Callable[[Event], T]) -> None:
        self.subscription = subscription
        self._context = context
        self.convert = convert
        # The event the last value came from: a shared subscription answers a member that lost events from it.
        self.last_event: Event | None = None

    def __aiter__(self) -> EventStream[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            event = await self.subscription.__anext__()
            self.last_event = event
            try:
                converted = self.convert(event)
            except (KeyError, ValueError, TypeError):
                logger.exception("subscriptions: skipped a malformed %s event: %.300r", event.topic, event.payload)
                continue
            # Each event is resolved against the cache as it is now: loaders cache rows, so they start afresh.
            self._context.reset_loaders()
            return converted

    async def aclose(self) -> None:
        self.subscription.close()

    def __del__(self) -> None:
        # A stream dropped without being closed (never iterated) must not leave its queue on the bus.
        self.subscription.close()


def event_stream(
    info: Info[Context, None],
    topics: str | Iterable[str],
    wanted: Callable[[Event], bool],
    convert: Callable[[Event], T],
) -> EventStream[T]:
    """Subscribe now to `topics`, keeping the events the caller may see (visibility) and asked for (`wanted`)."""
    stream = EventStream(subscribe(info.context, topics, wanted), info.context, convert)
    if isinstance(info.context, SharingContext) and info.context.on_stream is not None:
        info.context.on_stream(stream)
    return stream


@dataclass
class SharingContext(Context):
    """The context of a subscription several subscribers share: it hears which stream its field opened."""

    on_stream: Callable[[EventStream[Any]], None] | None = None

    @classmethod
    def of(cls, context: Context, on_stream: Callable[[EventStream[Any]], None]) -> SharingContext:
        given = {f.name: getattr(context, f.name) for f in fields(Context) if f.init}
        given.update(freshness=[], request_id=f"{context.request_id}.shared.{uuid.uuid4().hex[:8]}")
        return cls(**given, on_stream=on_stream)


def operation_context(connection_context: Context) -> Context:
    """The context of one operation on a WebSocket connection.

    Strawberry builds one context per connection and passes it to every operation on it; the
    loaders (row caches) and the freshness report belong to one operation, so each gets its own.
    """
    return replace(
        connection_context, freshness=[], request_id=f"{connection_context.request_id}.{uuid.uuid4().hex[:8]}"
    )


async def translated_stream(results: StreamResult, context: object) -> StreamResult:
    """The results of a streamed operation with errors given codes and masked, as for one over HTTP."""
    async with aclosing(results):
        async for result in results:
            yield translate_errors(result, context) if isinstance(result, ExecutionResult) else result
