"""Turning failures into GraphQL errors: expected ones keep their code, the rest are masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.errors import ErrorCode, GatewayError

logger = logging.getLogger("gateway.errors")

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def _translated(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError):
        extensions = {"code": original.code.value, **{k: v for k, v in original.details.items() if v is not None}}
        return GraphQLError(original.message, nodes=error.nodes, path=error.path, extensions=extensions)
    if original is None:
        code = GRAPHQL_PARSE_FAILED if error.message.startswith("Syntax Error") else GRAPHQL_VALIDATION_FAILED
        return GraphQLError(
            error.message, nodes=error.nodes, path=error.path, extensions={**(error.extensions or {}), "code": code}
        )
    logger.error("unexpected error, request %s", request_id, exc_info=original)
    return GraphQLError(
        f"Internal server error (request id {request_id})",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
    )


class ErrorTranslation(SchemaExtension):
    """Gives every error a stable `extensions.code`; no stack trace or internal message reaches a client."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result and result.errors:
            context = self.execution_context.context
            request_id = getattr(context, "request_id", "unknown")
            result.errors = [_translated(error, request_id) for error in result.errors]
