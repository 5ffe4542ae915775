"""What keeps one GraphQL request from hurting the others: the caller's rate limit and the operation's cost,
checked after validation and before anything executes; and validation that keeps the schema to itself
("Did you mean ...?") when introspection is off."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
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


class DocumentCache:
    """Answers about a parsed document, keyed by the document object itself (and a few more values).

    The parser cache hands the same document object for the same text, so identity is enough, and it is
    O(1): hashing a document walks every node (~30 µs for the dashboard query, on every request). Each
    entry keeps its document alive, so an id is never reused while its entry is here.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[DocumentNode, Any]] = OrderedDict()

    def get(self, document: DocumentNode, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        full_key = (id(document), *key)
        entry = self._entries.get(full_key)
        if entry is not None and entry[0] is document:
            self._entries.move_to_end(full_key)
            return entry[1]
        value = compute()
        self._entries[full_key] = (document, value)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value


def _cost(
    cache: DocumentCache,
    schema: GraphQLSchema,
    document: DocumentNode,
    model: CostModel,
    operation_name: str | None,
    numbers: tuple[tuple[str, int | None], ...],
) -> int:
    # A dashboard's repeated request costs a lookup, not a walk of its selection (~0.1 ms). Only Int (and
    # null) variables can size a page: the key.
    cost: int = cache.get(
        document,
        (id(schema), model, operation_name, numbers),
        lambda: operation_cost(schema, document, model, operation_name=operation_name, variables=dict(numbers)),
    )
    return cost


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

    def __init__(self, *, model: CostModel, max_cost: int | None, costs: DocumentCache) -> None:
        super().__init__()
        self.model = model
        self.max_cost = max_cost
        self.costs = costs

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context) and context.opened_services is not None and not context.rate_limit_spent:
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
                self.costs,
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

    def __init__(self, *, hide_suggestions: bool, validations: DocumentCache) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions
        self.validations = validations

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None  # parsing succeeded, or validation would not run
        schema, document = execution.schema._schema, execution.graphql_document
        rules = tuple(execution.validation_rules)
        execution.pre_execution_errors = self.validations.get(
            document,
            (id(schema), rules, self.hide_suggestions),
            lambda: _validate(schema, document, rules, self.hide_suggestions),
        )
        yield
