"""GraphQL operations counted and timed, by operation name, type and outcome: a schema extension.

Outcome `ok` is an answer without errors; `refused` an operation that never executed (it did not parse or
validate, the caller was over their rate limit, it cost too much); `error` one that ran and answered errors.
`code` is the first error's code as the client sees it (translate_errors gives every error one), `none` for ok.
The name label is the operation's name as the client gave it or the document names it, through the app's
`OperationNames` (anonymous, validated, bounded), never the query text. A subscription is counted when it ends,
and not timed: how long a subscriber stays is not a latency.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from observability.metrics import Metrics
from resolvers.context import Context
from schema.errors import error_code

OK, ERROR, REFUSED = "ok", "error", "refused"
NO_CODE = "none"
# Codes are the gateway's own (resolvers.errors, schema.errors); anything else is not trusted as a label.
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")
UNKNOWN_TYPE = "unknown"


def _metrics_of(context: object) -> Metrics | None:
    if isinstance(context, Context) and context.opened_services is not None:
        return context.opened_services.metrics
    return None


def _code_label(code: str) -> str:
    return code if code == NO_CODE or _CODE.fullmatch(code) else "OTHER"


def record_answered_query(metrics: Metrics, operation_name: str | None, seconds: float) -> None:
    """A query the view answered itself, without errors (the response cache, the compiled lane): counted and
    timed as this extension counts an executed one."""
    name = metrics.operation_names.label(operation_name)
    kind = OperationType.QUERY.value
    metrics.graphql_requests.labels(name, kind, OK, NO_CODE).inc()
    metrics.graphql_duration.labels(name, kind, OK).observe(seconds)


class MetricsExtension(SchemaExtension):
    """Records every operation in the app's `Metrics` (found through the context's services; none: nothing).

    It must come after RequestLimits, whose on_execute raises for a refused operation: then this one's on_execute
    is never entered, which is how a refusal is told from an error.
    """

    def __init__(self) -> None:
        super().__init__()
        self._executed = False

    def on_execute(self) -> Iterator[None]:
        self._executed = True
        yield

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        failure: Exception | None = None
        try:
            yield
        except Exception as error:  # strawberry answers it as an error; it is counted as one first
            failure = error
            raise
        finally:
            self._record(time.perf_counter() - started, failure)

    def _record(self, seconds: float, failure: Exception | None) -> None:
        execution = self.execution_context
        metrics = _metrics_of(execution.context)
        if metrics is None:
            return
        errors: list[GraphQLError] = list(execution.pre_execution_errors or [])
        if execution.result is not None and execution.result.errors:
            errors = list(execution.result.errors)
        if failure is not None:
            # Strawberry answers an exception from a hook as an error carrying it: counted by that error's code.
            errors = [GraphQLError(str(failure), original_error=failure)]
        code = error_code(errors[0]) if errors else NO_CODE
        outcome = OK if not errors else (ERROR if self._executed else REFUSED)
        kind = self._operation_type()
        name = metrics.operation_names.label(execution.operation_name)
        metrics.graphql_requests.labels(name, kind, outcome, _code_label(code)).inc()
        if kind != OperationType.SUBSCRIPTION.value:
            metrics.graphql_duration.labels(name, kind, outcome).observe(seconds)

    def _operation_type(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except RuntimeError:  # nothing parsed, or the named operation is not in the document
            return UNKNOWN_TYPE
