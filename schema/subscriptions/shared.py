"""Subscriptions shared by subscribers that would get the same answers: one execution per event for all of them.

Subscribers share when their document, operation name, variables and visibility are equal: visibility is
the caller's role, row scope and the permissions it is granted (resolvers/permissions.py), so two callers
share only when every rule the schema applies decides the same for both. A filter argument is part of the
document or the variables, so a different filter never shares. The first such subscriber opens the
operation as usual (validation, the field's permission, the resolver's bus subscription, all in its own
task); each event is executed once, its `next` payload encoded once (`SharedResult.payload`), and the
result queued for every member (fanout.py: a bounded queue per member, the bus's overflow
rule). A member that lost events is answered for itself: the same event executed again with its own
`missedEvents`, so the others neither lose events nor hear of its loss. The bus counts every member as a
subscriber; when the last one leaves, the bus subscription closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from inspect import isawaitable
from types import TracebackType
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute, parse
from graphql import OperationType as GraphQLOperationType
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from identity.principal import Role
from resolvers.context import Context
from resolvers.event_streams import Event
from resolvers.permissions import Permission, granted
from resolvers.scope import RowScope
from schema.errors import translate_errors
from schema.subscriptions.fanout import Fanout, FanoutMember
from schema.subscriptions.streams import EventStream, SharingContext, operation_context

logger = logging.getLogger("gateway.subscriptions")

OpenResults = Callable[[Context], Awaitable[StreamResult]]
Answer = tuple[ExecutionResult, Event | None]


@dataclass
class SharedResult(ExecutionResult):
    """One event's answer for every member; `payload` is its `next` payload as JSON, encoded once."""

    payload: str = ""

    @classmethod
    def of(cls, result: ExecutionResult) -> SharedResult:
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return cls(result.data, result.errors, result.extensions, json.dumps(body, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Visibility:
    role: Role
    scope: RowScope
    permissions: frozenset[Permission]

    @classmethod
    def of(cls, context: Context) -> Visibility:
        principal, settings = context.principal, context.settings
        allowed = frozenset(p for p in Permission if granted(principal, p, settings))
        return cls(principal.role, context.scope, allowed)


@dataclass(frozen=True, slots=True)
class ShareKey:
    bus: int  # the bus's id: a registry is the schema's, and a schema could serve two apps
    query: str
    operation_name: str | None
    variables: str
    subscriptions_allowed: bool  # over graphql-ws, SSE by GET…: the operation types the transport permits
    visibility: Visibility


def subscription_document(query: str, operation_name: str | None) -> DocumentNode | None:
    """The parsed document when it names a subscription operation; None for anything else (or bad syntax,
    which the ordinary path reports as it always has)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not GraphQLOperationType.SUBSCRIPTION:
        return None
    return document


class SharedOperation:
    """One subscription operation run once for every member; lives while it has members."""

    def __init__(
        self, registry: SharedSubscriptions, key: ShareKey, document: DocumentNode, context: Context, variables: Any
    ) -> None:
        self.registry = registry
        self.key = key
        self.document = document
        self.variables = variables
        self.context = SharingContext.of(context, self._opened)
        self.fanout: Fanout[Answer] = Fanout(context.settings.subscriber_queue_size, context.bus.metrics, self.stop)
        self.source: EventStream[Any] | None = None
        self._last_offered: Event | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None

    def start(self, open_results: OpenResults) -> None:
        self.task = asyncio.create_task(self._run(open_results), name="subscription:shared")

    def join(self) -> FanoutMember[Answer]:
        member = self.fanout.join()
        self._count_members()
        return member

    def _opened(self, stream: EventStream[Any]) -> None:
        """The field subscribed to the bus: from now on the operation hears every event."""
        self.source = stream
        stream.subscription.held = self._held
        self._count_members()
        self._set_ready()

    def _held(self) -> int:
        """Events taken off the bus that members have not read yet (the one being executed counts too)."""
        executing = self.source is not None and self.source.last_event is not self._last_offered
        return self.fanout.queued() + executing

    def _count_members(self) -> None:
        if self.source is not None:
            self.source.subscription.members = max(1, len(self.fanout))

    def _set_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    async def _run(self, open_results: OpenResults) -> None:
        try:
            results = await open_results(self.context)
            async with aclosing(results):
                async for result in results:
                    self._set_ready()
                    if not isinstance(result, ExecutionResult):
                        continue  # incremental delivery frames: a subscription never yields them
                    event = self.source.last_event if self.source is not None else None
                    if not isinstance(result, PreExecutionError):
                        self.registry.executions += 1
                        result = SharedResult.of(result)
                    self.fanout.offer((result, event), event.topic if event is not None else "")
                    self._last_offered = event
        except Exception:
            logger.exception("subscriptions: a shared subscription failed")
        finally:
            self.registry.forget(self)
            self._set_ready()
            self.fanout.finish()

    def stop(self) -> None:
        """The last member left: nobody hears this operation any more."""
        self.registry.forget(self)
        if self.source is not None:
            self.source.subscription.close()  # at once, not when the cancelled task next runs
        if self.task is not None:
            self.task.cancel()

    def results_for(self, member: FanoutMember[Answer]) -> MemberResults:
        return MemberResults(self, member)

    async def _answer_alone(self, source: EventStream[Any], event: Event, missed: int) -> ExecutionResult:
        """The event as this one member must see it: with the events it alone lost counted in `missedEvents`."""
        self.registry.executions += 1
        context = operation_context(self.context)
        answered = execute(
            self.registry.graphql_schema,
            self.document,
            root_value=source.convert(replace(event, missed=event.missed + missed)),
            context_value=context,
            variable_values=self.variables,
            operation_name=self.key.operation_name,
        )
        if isawaitable(answered):
            answered = await answered
        return translate_errors(ExecutionResult(answered.data, answered.errors, answered.extensions), context)


class MemberResults(AsyncGenerator[ExecutionResult, None]):
    """One member's results; closing it (or dropping it unread) leaves the shared operation."""

    def __init__(self, operation: SharedOperation, member: FanoutMember[Answer]) -> None:
        self._operation = operation
        self._member = member

    async def __anext__(self) -> ExecutionResult:
        try:
            taken = await self._member.take()
        except asyncio.CancelledError:
            # Whoever read it was stopped (the socket closed, the operation completed): it reads no more. Its
            # reference may live on in a traceback until the cyclic GC, so leave now rather than in __del__.
            self._member.close()
            raise
        if taken is None:
            self._member.close()
            raise StopAsyncIteration
        (result, event), missed = taken
        source = self._operation.source
        if missed and event is not None and source is not None:
            return await self._operation._answer_alone(source, event, missed)
        return result

    async def asend(self, value: None) -> ExecutionResult:
        return await self.__anext__()

    async def athrow(
        self,
        kind: type[BaseException] | BaseException,
        error: BaseException | object = None,
        traceback: TracebackType | None = None,
    ) -> ExecutionResult:
        self._member.close()
        raise kind if isinstance(kind, BaseException) else kind()

    async def aclose(self) -> None:
        self._member.close()

    def __del__(self) -> None:
        # A stream dropped without being closed (never iterated) must not stay a member.
        self._member.close()


class SharedSubscriptions:
    """The schema's shared subscription operations, by what makes their answers equal."""

    def __init__(self, graphql_schema: GraphQLSchema) -> None:
        self.graphql_schema = graphql_schema
        self._operations: dict[ShareKey, SharedOperation] = {}
        # Executions of subscription events, for tests and benchmarks: one per event per shared operation,
        # plus one per member answered alone after it lost events.
        self.executions = 0

    @property
    def operations(self) -> int:
        return len(self._operations)

    async def stream(
        self, query: str | None, options: dict[str, Any], context: Context, open_results: OpenResults
    ) -> StreamResult | None:
        """The member's results of a shared operation; None when this request does not share (not a
        subscription, or with operation extensions): the caller runs it alone."""
        if query is None or options.get("operation_extensions") or options.get("root_value") is not None:
            return None
        operation_name = options.get("operation_name")
        document = subscription_document(query, operation_name)
        if document is None:
            return None
        variables = options.get("variable_values")
        allowed = options.get("allowed_operation_types")
        key = ShareKey(
            id(context.bus),
            query,
            operation_name,
            json.dumps(variables, sort_keys=True, default=str),
            allowed is None or StrawberryOperationType.SUBSCRIPTION in allowed,
            Visibility.of(context),
        )
        operation = self._operations.get(key)
        if operation is None:
            operation = self._operations[key] = SharedOperation(self, key, document, context, variables)
            operation.start(open_results)
        member = operation.join()
        try:
            # Live before answering: an event published once the transport has our stream is heard.
            await asyncio.shield(operation.ready)
        except BaseException:
            member.close()
            raise
        return operation.results_for(member)

    def forget(self, operation: SharedOperation) -> None:
        if self._operations.get(operation.key) is operation:
            del self._operations[operation.key]
