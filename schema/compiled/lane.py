"""The compiled lane: a query text the compiled read path has answered before is answered again without
strawberry's per-request pipeline (building a dozen extension objects, their hooks, the execution context).

The first request for a text goes the ordinary way: it is parsed, validated and limited by the extensions,
and CompiledReads answers it and remembers the text here (`remember`). Validation depends on the text and the
schema only, so a remembered text is one that validated. For the next requests with that text the HTTP view
asks `answer`, which does what the extensions would have done for a compiled query, with their own code:

- the cost (the cost cache RequestLimits reads): over the limit, or heavy enough to take turns at the gate,
  the request goes the ordinary way, which refuses or queues it;
- the caller's rate limit: a refusal goes the ordinary way too (a refused take spends nothing, so it is
  refused again there, with its error, status and metrics);
- the operation's name in the log, the operation metrics, `extensions.freshness` (the view: the response cache).

A text is remembered only when its document holds one operation; a request naming another operation goes the
ordinary way (and gets its error there).

Anything `compiled_answer` declines after the token was spent (a value SQL cannot write exactly, a permission
the caller lacks) goes the ordinary way with the token marked spent (`RATE_LIMIT_SPENT`), so a request never
costs two.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from observability.requests import annotate
from resolvers.clock import utc_now
from resolvers.context import Context
from schema.compiled.answer import compiled_answer
from schema.compiled.planner import Plan
from schema.cost import CostModel
from schema.extensions import freshness_report
from schema.heavy_gate import HeavyOperationGate
from schema.limits import DocumentCache, _cost, _page_variables
from schema.metrics import record_answered_query

logger = logging.getLogger("gateway.compiled")
LANE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class LaneEntry:
    schema: GraphQLSchema
    document: DocumentNode
    plan: Plan
    # The operation's name as OperationNameLogged and the metrics name it: the client's, else the document's.
    operation_name: str | None


@dataclass(frozen=True, slots=True)
class LaneAnswer:
    """A compiled answer (`data` and `extensions` as strawberry's process_result shapes them), or, with `data`
    None, a request that must go the ordinary way (`token_spent`: its rate-limit token is already taken)."""

    body: GraphQLHTTPResponse | None
    result: ExecutionResult | None
    token_spent: bool


DECLINED = LaneAnswer(None, None, token_spent=False)


class CompiledLane:
    """The remembered texts of one built schema, with the limits its extensions apply."""

    def __init__(
        self,
        *,
        model: CostModel,
        max_cost: int | None,
        costs: DocumentCache,
        gate: HeavyOperationGate | None,
        size: int = LANE_SIZE,
    ) -> None:
        self.model = model
        self.max_cost = max_cost
        self.costs = costs
        self.gate = gate
        self._size = size
        self._entries: OrderedDict[str, LaneEntry] = OrderedDict()
        self.answered = 0  # requests answered here (what the tests and an operator can read)

    def remember(self, query: str, entry: LaneEntry) -> None:
        """A text of one operation that validated and compiled (CompiledReads)."""
        self._entries[query] = entry
        self._entries.move_to_end(query)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def entry(self, query: str, operation_name: str | None) -> LaneEntry | None:
        """The remembered entry for this request's text, if the name it gives (if any) is the operation's."""
        entry = self._entries.get(query)
        if entry is None or (operation_name is not None and operation_name != entry.operation_name):
            return None
        return entry

    def _admitted(self, schema: GraphQLSchema, entry: LaneEntry, variables: dict[str, Any]) -> bool:
        """Whether the limits would let the operation execute now, unqueued."""
        if self.max_cost is None and self.gate is None:
            return True
        cost = _cost(self.costs, schema, entry.document, self.model, entry.operation_name, _page_variables(variables))
        if self.max_cost is not None and cost > self.max_cost:
            return False
        return self.gate is None or cost < self.gate.threshold

    async def answer(self, entry: LaneEntry, context: Context, variables: dict[str, Any]) -> LaneAnswer:
        schema = entry.schema
        if not self._admitted(schema, entry, variables):
            return DECLINED
        services = context.opened_services
        if services is None:
            return DECLINED
        if services.rate_limits is not None and not services.rate_limits.take(context.principal).allowed:
            return DECLINED
        annotate(operation=entry.operation_name)
        started = time.perf_counter()
        try:
            result = await compiled_answer(context, entry.plan, schema, variables)
        except Exception:
            logger.exception("the compiled read path failed; answering the ordinary way")
            result = None
        if result is None:
            return LaneAnswer(None, None, token_spent=True)
        self.answered += 1
        body: GraphQLHTTPResponse = {"data": result.data}
        if context.freshness:
            result.extensions = {"freshness": freshness_report(context.freshness, utc_now())}
            body["extensions"] = result.extensions
        record_answered_query(services.metrics, entry.operation_name, time.perf_counter() - started)
        return LaneAnswer(body, result, token_spent=True)
