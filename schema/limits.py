"""What keeps one GraphQL request from hurting the others: the caller's rate limit and the operation's cost,
checked after validation and before anything executes; and validation that keeps the schema to itself
("Did you mean ...?") when introspection is off."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from resolvers.context import Context
from resolvers.errors import QueryTooComplexError, RateLimitedError
from schema.cost import CostModel, operation_cost

VALIDATION_CACHE_SIZE = 1000
COST_CACHE_SIZE = 1000


@lru_cache(maxsize=COST_CACHE_SIZE)
def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    model: CostModel,
    operation_name: str | None,
    numbers: tuple[tuple[str, int | None], ...],
) -> int:
    # The parser cache hands the same document for the same text, so a dashboard's repeated request costs a
    # lookup, not a walk of its selection (~0.1 ms). Only Int (and null) variables can size a page: the key.
    return operation_cost(schema, document, model, operation_name=operation_name, variables=dict(numbers))


def _page_variables(variables: dict[str, Any] | None) -> tuple[tuple[str, int | None], ...]:
    # What GraphQL's Int accepts (ints, and floats that are whole numbers), as the cost reads it.
    numbers: list[tuple[str, int | None]] = []
    for name, value in (variables or {}).items():
        if value is None:
            numbers.append((name, None))
        elif not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer():
            numbers.append((name, int(value)))
    return tuple(sorted(numbers))


class RequestLimits(SchemaExtension):
    """Refuses, unexecuted, an operation of a caller over their rate limit (RATE_LIMITED, `retryAfter`) or
    one whose estimated cost is over `max_cost` (QUERY_TOO_COMPLEX, `cost`, `limit`; None: no cost limit).

    It runs in on_execute because the cost needs the request's variables, which validation rules never see.
    It raises: strawberry answers an exception from on_execute with that error and no data, for queries and
    mutations as for subscriptions (where a result set here would not stop the subscription). It must be the
    first extension with an on_execute hook, so that no other hook was entered that its raising skips.
    """

    def __init__(self, *, model: CostModel, max_cost: int | None) -> None:
        super().__init__()
        self.model = model
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context) and context.opened_services is not None:
            buckets = context.opened_services.rate_limits
            if buckets is not None:
                verdict = buckets.take(context.principal)
                if not verdict.allowed:
                    raise RateLimitedError(
                        f"Too many requests: try again in {verdict.retry_after} s", retryAfter=verdict.retry_after
                    )
        document = execution.graphql_document
        if document is not None and self.max_cost is not None:
            cost = _cost(
                execution.schema._schema,
                document,
                self.model,
                execution.operation_name,
                _page_variables(execution.variables),
            )
            if cost > self.max_cost:
                raise QueryTooComplexError(
                    f"The operation's estimated cost {cost} is over the limit {self.max_cost}: ask for smaller "
                    "pages or fewer nested lists",
                    cost=cost,
                    limit=self.max_cost,
                )
        yield


@lru_cache(maxsize=VALIDATION_CACHE_SIZE)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    # Strawberry's own validate_document adds these two rules; it has no way to hide suggestions.
    return validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        hide_suggestions=hide_suggestions,
    )


class CachedValidation(SchemaExtension):
    """Strawberry's ValidationCache (module-level LRU, the parser cache hands the same document for the same
    text), with graphql-core's `hide_suggestions`: with introspection off, an unknown field's error must not
    name the fields that exist."""

    def __init__(self, *, hide_suggestions: bool) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None  # parsing succeeded, or validation would not run
        execution.pre_execution_errors = _validate(
            execution.schema._schema,
            execution.graphql_document,
            tuple(execution.validation_rules),
            self.hide_suggestions,
        )
        yield
