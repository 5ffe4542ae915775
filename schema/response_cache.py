"""The response cache at the HTTP view: a repeated query answered before strawberry parses it.

A request is a candidate when it is a POST with a JSON body of one operation whose text and variables never
mention `maxAge` (a caller asking for fresher data than the cache's bound is answered live). Its key is the query
text, the operation name, the canonical variables and request extensions, the Accept header (which picks the
response's media type), and the caller's visibility: their row scope and the permissions they are granted
(resolvers/response_cache.py). Two callers with equal keys are answered exactly alike.

A candidate that misses is executed as usual; its answer is stored when it is a query (not a mutation or a
subscription, no introspection, none of the fields whose answer moves without a write: live availability, the
network's health, a consent's `inForce`), it has no errors, its freshness entries all came from the cache within
their bound, and nothing was written while it ran. A hit still spends a token of the caller's rate limit (when
there is none, the request is executed as usual, which refuses it the usual way), is counted in the metrics as
the query it is, names the subject and operation in the request's log line, and carries `extensions.freshness`
rendered again (`ageSeconds` grows); once the data it names is older than the default max age, it is a miss, so
the execution refreshes live as a cold answer would.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import FieldNode, GraphQLSyntaxError, OperationDefinitionNode, Visitor, parse, visit
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from identity.principal import Principal
from observability.requests import annotate
from resolvers.clock import utc_now
from resolvers.context import Context, FreshnessEntry
from resolvers.response_cache import CachedAnswer, ResponseCache, stale_at
from resolvers.services import Services
from schema.extensions import freshness_report
from schema.http_parameters import PostedOperation, posted_operation
from schema.http_rules import content_type, response_media_type
from schema.metrics import record_answered_query

# Where the view leaves a missed candidate's lookup for execute_single to store the answer under.
LOOKUP_KEY = "gateway.response_cache.lookup"
# Fields whose answer changes with no write to the cache: asked live, or judged against the clock.
UNCACHEABLE_FIELDS = frozenset({"availability", "networkHealth", "inForce"})
MAX_ANSWER_BYTES = 1024 * 1024  # a bigger answer is not kept: one would take the room of many dashboards
MAX_AGE = "maxAge"

Encode = Callable[[object], str | bytes]


@dataclass(frozen=True, slots=True)
class Lookup:
    key: Hashable
    query: str
    operation_name: str | None


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def lookup_of(parameters: PostedOperation, accept: str | None, visibility: Hashable) -> Lookup | None:
    """The candidate's key, or None for a request the cache never keeps (`maxAge` bypasses it)."""
    if MAX_AGE in parameters.query:
        return None
    canonical_variables = _canonical(parameters.variables)
    if MAX_AGE in canonical_variables:
        return None
    key = (
        parameters.query,
        parameters.operation_name,
        canonical_variables,
        _canonical(parameters.extensions),
        accept,
        visibility,
    )
    return Lookup(key, parameters.query, parameters.operation_name)


def _as_bytes(encoded: str | bytes) -> bytes:
    return encoded.encode() if isinstance(encoded, str) else encoded


def render(answer: CachedAnswer, encode: Encode) -> bytes:
    """The answer as the view would encode it now: the stored bytes, each freshness age as of now."""
    if not answer.refreshed:
        return answer.parts[0]
    now = utc_now()
    pieces = [answer.parts[0]]
    for refreshed_at, part in zip(answer.refreshed, answer.parts[1:], strict=True):
        # As freshness_report computes it (Freshness.age_seconds, rounded), without building the report again.
        pieces.append(_as_bytes(encode(round(max((now - refreshed_at).total_seconds(), 0.0), 3))))
        pieces.append(part)
    return b"".join(pieces)


def _encoded(
    data: dict[str, Any], extensions: dict[str, Any], freshness: tuple[FreshnessEntry, ...], encode: Encode
) -> tuple[tuple[bytes, ...], tuple[datetime, ...]] | None:
    """The response as the view encodes it (process_result's shape), split around each freshness age."""
    if not extensions:
        return (_as_bytes(encode({"data": data})),), ()
    marker = uuid.uuid4().hex  # the gaps' stand-in: no answer holds it by chance
    refreshed: list[datetime] = []
    report = freshness_report(freshness, utc_now())
    for kinds in report.values():
        for item in kinds.values():
            if item["ageSeconds"] is not None:
                item["ageSeconds"] = f"{marker}-{len(refreshed)}"
                refreshed.append(datetime.fromisoformat(item["refreshedAt"]))
    templated = {key: (report if key == "freshness" else value) for key, value in extensions.items()}
    encoded = _as_bytes(encode({"data": data, "extensions": templated}))
    pieces = re.split(rb'"' + marker.encode() + rb'-(\d+)"', encoded)
    parts, gaps = tuple(pieces[0::2]), [int(index) for index in pieces[1::2]]
    if gaps != list(range(len(refreshed))):
        return None  # an encoder that reorders keys: such an answer is not kept
    return parts, tuple(refreshed)


def services_of(request: Request) -> Services | None:
    services: Services | None = getattr(request.app.state, "services", None)
    return services


async def cached_response(request: Request, principal: Principal, encode: Encode) -> Response | None:
    """The stored answer to this request, or None: then the view executes it (and stores it, see `store_answer`)."""
    started = time.perf_counter()
    services = services_of(request)
    cache = None if services is None else services.response_cache
    if cache is None or services is None or request.method != "POST":
        return None
    if "application/json" not in request.headers.get("content-type", ""):
        return None
    accept = request.headers.get("accept")
    media_type = response_media_type(accept)
    if media_type is None:
        return None  # 406: the view's own refusal
    parameters = await posted_operation(request)
    lookup = None if parameters is None else lookup_of(parameters, accept, cache.visibility(principal))
    if lookup is None:
        return None
    request.scope[LOOKUP_KEY] = lookup
    answer = cache.get(lookup.key)
    if answer is None:
        return None
    if answer.stale_at is not None and utc_now() > answer.stale_at:
        cache.drop(lookup.key)  # a cold answer would refresh live now: let it
        return None
    if services.rate_limits is not None and not services.rate_limits.take(principal).allowed:
        return None  # executed as usual: refused by RequestLimits, with its error, status and metrics
    annotate(subject=principal.subject, operation=answer.operation_name)
    record_answered_query(services.metrics, answer.operation_name, time.perf_counter() - started)
    return Response(render(answer, encode), status_code=200, headers={"Content-Type": content_type(media_type)})


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.names.add(node.name.value)


def _query_name(query: str, operation_name: str | None) -> tuple[bool, str | None]:
    """Whether the operation the request runs may be stored (a query, of cacheable fields), and its name as the
    metrics and the log name it (the client's, else the document's)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return False, None
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [node for node in operations if node.name is not None and node.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation.value != OperationType.QUERY.value:
        return False, None
    fields = _FieldNames()
    visit(document, fields)
    introspection = any(name.startswith("__") and name != "__typename" for name in fields.names)
    if introspection or fields.names & UNCACHEABLE_FIELDS:
        return False, None
    name = operations[0].name
    return True, operation_name or (name.value if name is not None else None)


def begin_caching(request: Request, context: Context) -> tuple[ResponseCache, Lookup, int] | None:
    """Before a missed candidate executes: the cache, its lookup and the generation its answer will be read at."""
    lookup = request.scope.get(LOOKUP_KEY)
    services = context.opened_services
    cache = None if services is None else services.response_cache
    if not isinstance(lookup, Lookup) or cache is None:
        return None
    return cache, lookup, cache.generation


def store_answer(
    started: tuple[ResponseCache, Lookup, int], result: ExecutionResult, context: Context, encode: Encode
) -> None:
    """Keep a missed candidate's answer, when it may be kept (see the module's docstring)."""
    cache, lookup, generation = started
    if result.errors or result.data is None or generation != cache.generation:
        return
    storable, until = stale_at(tuple(context.freshness), context.settings.default_max_age_seconds)
    if not storable:
        return
    cacheable, operation_name = _query_name(lookup.query, lookup.operation_name)
    if not cacheable:
        return
    encoded = _encoded(result.data, dict(result.extensions or {}), tuple(context.freshness), encode)
    if encoded is None or sum(len(part) for part in encoded[0]) > MAX_ANSWER_BYTES:
        return
    parts, refreshed = encoded
    cache.put(lookup.key, generation, CachedAnswer(parts, refreshed, operation_name, until))


class MutationsInvalidate(SchemaExtension):
    """A mutation this process runs voids every stored answer, as it starts and before its answer is sent (its
    commits void them too: this also covers a mutation that changes what the cache serves without one)."""

    def on_execute(self) -> Iterator[None]:
        cache = self._cache()
        if cache is None:
            yield
            return
        mutation = self._is_mutation()
        if mutation:
            cache.invalidate()
        try:
            yield
        finally:
            if mutation:
                cache.invalidate()

    def _cache(self) -> ResponseCache | None:
        context = self.execution_context.context
        if isinstance(context, Context) and context.opened_services is not None:
            return context.opened_services.response_cache
        return None

    def _is_mutation(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.MUTATION
        except RuntimeError:
            return False
