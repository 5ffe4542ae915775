"""A POSTed GraphQL request's parameters (GraphQL over HTTP: `query`, `operationName`, `variables`,
`extensions`), read once per request for the view's own answering paths (the response cache, the compiled
lane). Anything that is not one operation with parameters of the spec's types is None here: strawberry then
parses the body and refuses it in its own words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

_SCOPE_KEY = "gateway.posted_operation"


@dataclass(frozen=True, slots=True)
class PostedOperation:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def _parse(body: bytes) -> PostedOperation | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None  # a batch, or not an operation at all
    query, name = data.get("query"), data.get("operationName")
    variables, extensions = data.get("variables"), data.get("extensions")
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None
    if not isinstance(variables, dict | None) or not isinstance(extensions, dict | None):
        return None
    return PostedOperation(query, name, variables, extensions)


async def posted_operation(request: Request) -> PostedOperation | None:
    """The request's parameters, parsed on the first call and kept in its scope for the next."""
    if _SCOPE_KEY not in request.scope:
        request.scope[_SCOPE_KEY] = _parse(await request.body())
    parsed: PostedOperation | None = request.scope[_SCOPE_KEY]
    return parsed
