"""The compiled answer to one request: the caller's permissions, the variables and page arguments read as the
ordinary path reads them, the `maxAge` default refresh as `Fresh` does it, then the one statement's JSON."""

from __future__ import annotations

from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, GraphQLField, GraphQLSchema
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types import ExecutionResult

from resolvers.bookings.vocabulary import BookingSort
from resolvers.compiled.reads import PageRequest, RootRequest, prepare, read_json
from resolvers.context import Context
from resolvers.freshness import FreshData, refresh_for_query
from resolvers.permissions import granted
from schema.compiled.planner import Plan

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


async def compiled_answer(
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
