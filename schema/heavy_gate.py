"""Heavy operations take turns: at most `slots` of those costing `threshold` or more execute at once.

The event loop runs whatever is
ready in the order it became ready, so sixteen heavy executions interleaved put sixteen synchronous
stretches ahead of every small request's next step. Queued here, a waiting heavy operation is one
parked future (no work on the loop), and a small request waits behind at most `slots` of them.

It sits in build_schema's extension list right after RequestLimits (a refused operation never queues),
one gate per built schema, like the cost and validation caches; the cost is the one RequestLimits
computed, read from the same DocumentCache. Only queries take turns: mutations are cheap by cost, and a
subscription's execution is per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.cost import CostModel
from schema.limits import DocumentCache, _cost, _page_variables


@dataclass
class HeavyOperationGate:
    """The turns of one schema's heavy operations (built with the schema, used inside its event loop)."""

    threshold: int
    slots: int = 1
    _semaphore: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        # No loop is bound until the first wait (Python >= 3.10): safe to build with the schema.
        self._semaphore = asyncio.Semaphore(self.slots)


class HeavyOperationsTakeTurns(SchemaExtension):
    def __init__(self, *, gate: HeavyOperationGate, model: CostModel, costs: DocumentCache) -> None:
        super().__init__()
        self.gate = gate
        self.model = model
        self.costs = costs

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is None or execution.operation_type is not OperationType.QUERY:
            yield
            return
        cost = _cost(
            self.costs,
            execution.schema._schema,
            document,
            self.model,
            execution.operation_name,
            _page_variables(execution.variables),
        )
        if cost < self.gate.threshold:
            yield
            return
        async with self.gate._semaphore:
            yield
