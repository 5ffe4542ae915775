"""Turning failures into GraphQL errors: expected ones keep their code, the rest are masked."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from resolvers.errors import ErrorCode, GatewayError
from resolvers.outage import is_database_unavailable

logger = logging.getLogger("gateway.errors")

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def error_code(error: GraphQLError) -> str:
    """The `extensions.code` translate_errors gives this (untranslated) error: what metrics count it by."""
    original = error.original_error
    if isinstance(original, GatewayError):
        return original.code.value
    if original is None or error.path is None:
        given = (error.extensions or {}).get("code")
        if isinstance(given, str) and given:
            return given
        return GRAPHQL_PARSE_FAILED if error.message.startswith("Syntax Error") else GRAPHQL_VALIDATION_FAILED
    if is_database_unavailable(original):
        return ErrorCode.SERVICE_UNAVAILABLE.value
    return ErrorCode.INTERNAL_SERVER_ERROR.value


def _translated(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError):
        extensions = {"code": original.code.value, **{k: v for k, v in original.details.items() if v is not None}}
        return GraphQLError(original.message, nodes=error.nodes, path=error.path, extensions=extensions)
    # Errors before execution (no path) are about the request itself, e.g. a variable that does not coerce:
    # graphql-core wraps those in an original error too, but they are the client's, not ours.
    if original is None or (error.path is None and not isinstance(original, GatewayError)):
        if (error.extensions or {}).get("code"):
            return error
        code = GRAPHQL_PARSE_FAILED if error.message.startswith("Syntax Error") else GRAPHQL_VALIDATION_FAILED
        return GraphQLError(
            error.message, nodes=error.nodes, path=error.path, extensions={**(error.extensions or {}), "code": code}
        )
    if is_database_unavailable(original):
        # Not a bug and nothing the client did: say so with a code a client can retry on (the details stay in
        # the log, as for any unexpected error).
        logger.warning("database unavailable, request %s: %r", request_id, original)
        return GraphQLError(
            f"The gateway cannot reach its database right now; retry shortly (request id {request_id})",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.SERVICE_UNAVAILABLE.value, "requestId": request_id},
        )
    logger.error("unexpected error, request %s", request_id, exc_info=original)
    return GraphQLError(
        f"Internal server error (request id {request_id})",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
    )


def translate_errors(result: ExecutionResult, context: Any) -> ExecutionResult:
    """Gives every error a stable `extensions.code`; no stack trace or internal message reaches a client."""
    if result.errors:
        request_id = getattr(context, "request_id", "unknown")
        result.errors = [_translated(error, request_id) for error in result.errors]
    return result
