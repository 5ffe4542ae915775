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
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.bookings.vocabulary import BookingSort
from resolvers.compiled.reads import BookingsRoot, prepare_bookings, read_json
from resolvers.context import Context
from resolvers.freshness import FreshData, refresh_for_query
from resolvers.permissions import granted
from schema.compiled.planner import Plan, plan_operation
from schema.limits import DocumentCache

PLAN_CACHE_SIZE = 1000
logger = logging.getLogger("gateway.compiled")


class CompiledReads(SchemaExtension):
    def __init__(self, *, plans: DocumentCache) -> None:
        super().__init__()
        self.plans = plans

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
                    execution.result = await _answer(context, plan, schema, execution.variables or {})
                except Exception:
                    # The fast path never makes an answer worse: the ordinary execution answers (and its own
                    # errors, if the cause is the database's, are reported as they always were).
                    logger.exception("the compiled read path failed; answering the ordinary way")
        yield


async def _answer(
    context: Context, plan: Plan, schema: GraphQLSchema, raw_variables: dict[str, Any]
) -> ExecutionResult | None:
    if not all(granted(context.principal, permission, context.settings) for permission in plan.permissions):
        return None
    schema_variables = get_variable_values(schema, plan.operation.variable_definitions or (), raw_variables)
    if isinstance(schema_variables, list):  # variables that do not coerce: the ordinary path's errors
        return None
    compiled = []
    for index, root in enumerate(plan.roots):
        try:
            arguments = get_argument_values(root.definition, root.node, schema_variables)
        except GraphQLError:
            return None
        if any(arguments.get(name) is not None for name in ("filter", "last", "before", "max_age", "maxAge")):
            return None
        sort = arguments.get("sort", BookingSort.START_AT_ASC)
        bookings = BookingsRoot(
            root.selection,
            BookingSort(getattr(sort, "value", sort)),
            arguments.get("first"),
            arguments.get("after"),
        )
        part = prepare_bookings(context, bookings, f"r{index}")
        if part is None:
            return None
        compiled.append(part)
    for _root in plan.roots:
        await refresh_for_query(context, None, FreshData.BOOKINGS, None)
    answers = await read_json(context, compiled, plan.statements)
    if answers is None:
        return None
    data = {root.key: orjson.Fragment(answer) for root, answer in zip(plan.roots, answers, strict=True)}
    return ExecutionResult(data=data, errors=None)
