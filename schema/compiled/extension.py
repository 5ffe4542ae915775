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
from graphql import FieldNode, GraphQLError, GraphQLField, GraphQLSchema
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.bookings.vocabulary import BookingSort
from resolvers.compiled.reads import PageRequest, RootRequest, prepare, read_json
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


# What `extensions.freshness` names each compiled root field's data (as its Fresh field extension does).
FRESH_DATA = {"bookings": FreshData.BOOKINGS, "customers": FreshData.CUSTOMERS}
UNREAD_ARGUMENTS = ("filter", "last", "before", "maxAge")


def _page(definition: GraphQLField, node: FieldNode, variables: VariableValues) -> PageRequest | None:
    """The page a connection field asks for; None when it asks for more than the compiler reads (or its
    arguments do not coerce: the ordinary path's errors)."""
    try:
        arguments = get_argument_values(definition, node, variables)
    except GraphQLError:
        return None
    if any(arguments.get(name) is not None for name in UNREAD_ARGUMENTS):
        return None
    sort = arguments.get("sort")
    return PageRequest(
        first=arguments.get("first"),
        after=arguments.get("after"),
        sort=None if sort is None else BookingSort(getattr(sort, "value", sort)),
    )


async def _answer(
    context: Context, plan: Plan, schema: GraphQLSchema, raw_variables: dict[str, Any]
) -> ExecutionResult | None:
    if not all(granted(context.principal, permission, context.settings) for permission in plan.permissions):
        return None
    variables = get_variable_values(schema, plan.operation.variable_definitions or (), raw_variables)
    if isinstance(variables, list):  # variables that do not coerce: the ordinary path's errors
        return None
    roots: list[RootRequest] = []
    for root in plan.roots:
        page = _page(root.definition, root.node, variables)
        if page is None:
            return None
        roots.append(RootRequest(root.field, root.selection, page))
    sites = [_page(definition, node, variables) for definition, node in plan.sites]
    if any(site is None for site in sites):
        return None
    prepared = prepare(context, roots, [site for site in sites if site is not None])
    if prepared is None:
        return None
    for root in plan.roots:
        await refresh_for_query(context, None, FRESH_DATA[root.field], None)
    answers = await read_json(context, prepared, plan.statements)
    if answers is None:
        return None
    data = {root.key: orjson.Fragment(answer) for root, answer in zip(plan.roots, answers, strict=True)}
    return ExecutionResult(data=data, errors=None)
