"""GraphQL over HTTP as its spec (graphql.github.io/graphql-over-http) says: which media type an answer takes,
which status code it gets, which operations a plain HTTP request may run, and how what it may not is refused.

- The answer's media type follows `Accept`: `application/graphql-response+json` or `application/json`, whichever
  ranks higher (`*/*`, `application/*` and no header at all mean `application/json`); an Accept that lists
  neither is 406, before anything runs.
- `application/json` keeps status 200 for every GraphQL response, request errors included (the spec's legacy
  rule). With `application/graphql-response+json` a request error (parse, validation, variable coercion, a limit
  or refusal before execution) has no `data` entry and a 4xx/5xx status from its code; field errors stay 200.
- A plain HTTP request runs queries (GET or POST) and mutations (POST only: by GET they are 405, `Allow: POST`).
  A subscription needs a stream: the view hands requests whose Accept asks for one (SSE, multipart) to its
  streaming transports before these rules; any other subscription is 400 SUBSCRIPTION_TRANSPORT_REQUIRED.
- A request that is not a GraphQL request at all (body not JSON, no query, parameters of the wrong type, an
  unsupported content type) is 400 BAD_REQUEST; every refusal has a GraphQL error body in the negotiated type.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.errors import ErrorCode
from schema.errors import GRAPHQL_VALIDATION_FAILED

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8",
    APPLICATION_JSON: f"{APPLICATION_JSON}; charset=utf-8",
}
# Status codes of a request error under application/graphql-response+json, by its code; any other code is 400.
REQUEST_ERROR_STATUS = {
    ErrorCode.UNAUTHENTICATED.value: 401,
    ErrorCode.FORBIDDEN.value: 403,
    ErrorCode.PAYLOAD_TOO_LARGE.value: 413,
    ErrorCode.RATE_LIMITED.value: 429,
    ErrorCode.INTERNAL_SERVER_ERROR.value: 500,
    ErrorCode.SERVICE_UNAVAILABLE.value: 503,
}
# Strawberry's own refusals (cross_web.HTTPException) carry a status and a reason only.
REFUSAL_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
}
ALLOWED_METHODS = "GET, POST"


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # a range whose weight cannot be read is not taken as wanted
        if media_range:
            ranges.append((media_range.lower(), quality))
    return ranges


def _weight(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, int, int] | None:
    """(quality, specificity, -position) of the most specific range naming the media type (`type/subtype` over
    `type/*` over `*/*`); None when no range names it."""
    patterns = {media_type: 2, f"{media_type.split('/', 1)[0]}/*": 1, "*/*": 0}
    matches = [
        (patterns[media_range], -position, quality)
        for position, (media_range, quality) in enumerate(ranges)
        if media_range in patterns
    ]
    if not matches:
        return None
    specificity, position, quality = max(matches)
    return quality, specificity, position


@functools.lru_cache(maxsize=256)  # read several times per request; clients send a few distinct Accept headers
def response_media_type(accept: str | None) -> str | None:
    """The media type a GraphQL response to a request with this Accept header takes; None when it accepts
    neither of ours (the request is refused 406).

    The heavier wins; of two as heavy, the one the client named itself, or named first; of two it named alike
    (only `*/*`), application/json. That is also the answer to no Accept header, as the audit of graphql-http
    1.23.1 expects (the spec's watershed would make it graphql-response+json).
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges = _media_ranges(accept)
    candidates = []
    for preference, media_type in enumerate((GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)):
        weight = _weight(ranges, media_type)
        if weight is not None and weight[0] > 0:
            candidates.append((weight, preference, media_type))
    return max(candidates)[2] if candidates else None


def content_type(media_type: str | None) -> str:
    """The Content-Type header of an answer in this media type (application/json when none was acceptable)."""
    return CONTENT_TYPES[media_type or APPLICATION_JSON]


def plain_http_operation_types(method: str) -> set[OperationType]:
    """What a request that asks for no stream may run: queries by GET, queries and mutations by POST."""
    if method == "GET":
        return {OperationType.QUERY}
    return {OperationType.QUERY, OperationType.MUTATION}


def is_request_error(result: ExecutionResult) -> bool:
    """Whether the errors came before execution (no field was resolved, so no error has a path): parsing,
    validation, variable coercion, the limits and refusals of the schema's extensions."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def _first_code(response: GraphQLHTTPResponse) -> str | None:
    for error in response.get("errors") or []:
        if isinstance(error, dict):
            code = (error.get("extensions") or {}).get("code")
            if isinstance(code, str):
                return code
    return None


def response_status(response: GraphQLHTTPResponse, media_type: str) -> int:
    """200, except for a response without `data` (a request error) under application/graphql-response+json."""
    if media_type != GRAPHQL_RESPONSE_JSON or "data" in response:
        return 200
    return REQUEST_ERROR_STATUS.get(_first_code(response) or "", 400)


def response_headers(response: GraphQLHTTPResponse, status: int) -> dict[str, str]:
    """Headers a refused response's status calls for: when to come back after a 429."""
    if status != 429:
        return {}
    for error in response.get("errors") or []:
        retry_after = (error.get("extensions") or {}).get("retryAfter") if isinstance(error, dict) else None
        if isinstance(retry_after, int | float):
            return {"Retry-After": str(max(1, round(retry_after)))}
    return {}


class HTTPRefusal(HTTPException):
    """A request refused before any operation ran, with the error code and headers its answer carries."""

    def __init__(
        self, status_code: int, code: ErrorCode, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.headers = dict(headers or {})


def _transports(protocols: Sequence[str], path: str) -> list[str]:
    websocket = [protocol for protocol in protocols if protocol in (GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL)]
    transports = []
    if websocket:
        transports.append(f"a WebSocket to {path} (subprotocol {' or '.join(websocket)})")
    if GRAPHQL_SSE_PROTOCOL in protocols:
        transports.append("GraphQL over SSE (`Accept: text/event-stream`)")
    if MULTIPART_SUBSCRIPTION_PROTOCOL in protocols:
        transports.append('multipart HTTP (`Accept: multipart/mixed;subscriptionSpec="1.0"`)')
    return transports


def subscription_refusal(protocols: Sequence[str], path: str) -> HTTPRefusal:
    """The 400 for a subscription sent by a request that asks for no stream, naming the transports served."""
    transports = _transports(protocols, path)
    ways = ", ".join(transports[:-1]) + f" or {transports[-1]}" if len(transports) > 1 else "".join(transports)
    return HTTPRefusal(
        400,
        ErrorCode.SUBSCRIPTION_TRANSPORT_REQUIRED,
        f"A subscription needs a transport that streams its events: use {ways}",
    )


def operation_type_refusal(
    operation_type: OperationType, method: str, protocols: Sequence[str], path: str
) -> HTTPRefusal:
    """The refusal of an operation a plain HTTP request may not run (see plain_http_operation_types)."""
    if operation_type is OperationType.SUBSCRIPTION:
        return subscription_refusal(protocols, path)
    return HTTPRefusal(
        405,
        ErrorCode.METHOD_NOT_ALLOWED,
        f"A {operation_type.value} cannot be sent by {method}: send it by POST",
        headers={"Allow": "POST"},
    )


def check_operation_name(operation_name: object) -> None:
    """Refuses (400) an `operationName` parameter that is neither a string nor null."""
    if operation_name is not None and not isinstance(operation_name, str):
        raise HTTPRefusal(
            400, ErrorCode.BAD_REQUEST, "The GraphQL operation's `operationName` must be a string or null, if provided."
        )


def missing_query_refusal() -> HTTPRefusal:
    return HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The request has no GraphQL query (a `query` parameter)")


def unknown_operation_result(reason: str) -> ExecutionResult:
    """The request error of a document whose operation to run cannot be told (none, several and no
    operationName, or an operationName it does not define), with the code the schema gives request errors."""
    return ExecutionResult(data=None, errors=[GraphQLError(reason, extensions={"code": GRAPHQL_VALIDATION_FAILED})])


def not_acceptable(accept: str) -> HTTPRefusal:
    return HTTPRefusal(
        406,
        ErrorCode.NOT_ACCEPTABLE,
        f"The Accept header ({accept[:100]}) lists neither {GRAPHQL_RESPONSE_JSON} nor {APPLICATION_JSON}",
    )


def error_body(message: str, code: ErrorCode) -> dict[str, Any]:
    """A GraphQL response of one request error, without `data`."""
    return {"errors": [{"message": message, "extensions": {"code": code.value}}]}


def refusal_response(refusal: HTTPException, media_type: str | None) -> Response:
    """The answer to a request refused before any operation ran: Strawberry's (a malformed request, which has
    only a status and a reason) or the gateway's (HTTPRefusal), as a GraphQL error in the negotiated type."""
    if isinstance(refusal, HTTPRefusal):
        code, headers = refusal.code, refusal.headers
    else:
        code = REFUSAL_CODES.get(refusal.status_code, ErrorCode.BAD_REQUEST)
        headers = {"Allow": ALLOWED_METHODS} if refusal.status_code == 405 else {}
    return Response(
        json.dumps(error_body(refusal.reason, code), separators=(",", ":")),
        status_code=refusal.status_code,
        headers={**headers, "Content-Type": content_type(media_type)},
    )
