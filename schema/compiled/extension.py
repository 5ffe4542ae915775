"""CompiledReads: answer a query the planner compiled from one SQL statement instead of executing its fields.

It runs last among the `on_execute` hooks, so the rate limit, the cost limit and the metrics have already
seen the operation; parsing and validation ran as for any request. It answers only for a context the HTTP
view marked (`Context.compiled_reads`), only when the caller holds every permission the plan's fields
declare, and only when each root field's arguments are ones it reads. The `maxAge` bound's work is done as
the `Fresh` field extension does it (the same refresh, the same `extensions.freshness` entries). Otherwise,
or when the statement cannot build a value exactly, it sets nothing and the ordinary execution answers.

The answer's `data` holds each root field's JSON as the database built it (`orjson.Fragment`): the view
encodes responses with orjson, which writes it out as it is.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from resolvers.context import Context
from schema.compiled.answer import compiled_answer
from schema.compiled.lane import CompiledLane, LaneEntry
from schema.compiled.planner import Plan, plan_operation
from schema.limits import DocumentCache

PLAN_CACHE_SIZE = 1000
logger = logging.getLogger("gateway.compiled")


class CompiledReads(SchemaExtension):
    def __init__(self, *, plans: DocumentCache, lane: CompiledLane | None = None) -> None:
        super().__init__()
        self.plans = plans
        self.lane = lane

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if isinstance(context, Context) and context.compiled_reads and document is not None and not execution.result:
            schema = execution.schema._schema
            operation_name = execution.operation_name
            plan: Plan | None = self.plans.get(
                document, (operation_name,), lambda: plan_operation(schema, document, operation_name)
            )
            if plan is not None:
                try:
                    execution.result = await compiled_answer(context, plan, schema, execution.variables or {})
                except Exception:
                    # The fast path never makes an answer worse: the ordinary execution answers (and its own
                    # errors, if the cause is the database's, are reported as they always were).
                    logger.exception("the compiled read path failed; answering the ordinary way")
                operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
                if execution.result is not None and self.lane is not None and execution.query and len(operations) == 1:
                    # Parsed, validated and compiled: the next request with this text may take the lane (lane.py).
                    self.lane.remember(execution.query, LaneEntry(schema, document, plan, operation_name))
        yield
