"""One REST endpoint of a spec: its handler, the models that validate it, and what it answers, described once
so the route and the OpenAPI document (shims.common.openapi) cannot disagree.

The route translates at the boundary: a Refusal is answered in the spec's error shape; a resolver's
GatewayError is passed on as a Refusal with its HTTP status; anything else is logged with the request id and
answered 500 in the spec's shape, never with a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observability.requests import current_request_id
from resolvers.errors import GatewayError
from shims.common.refusal import Refusal

logger = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
# Every endpoint may answer these besides its own: a malformed request, a missing or bad credential, a body
# over the size limit, too many requests, and a failure of the gateway's own.
ALWAYS_DOCUMENTED = (400, 401, 413, 429, 500)


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How one spec answers a failure: the body for a refusal, and that body's model (for the document)."""

    render: Callable[[Refusal], dict[str, Any]]
    model: type[BaseModel]
    server_error_code: str = "SERVER_ERROR"
    # The spec's own codes for the resolvers' (e.g. NOT_FOUND -> BOOKING_NOT_FOUND); others keep theirs.
    codes: Mapping[str, str] = field(default_factory=dict)

    def response(self, refusal: Refusal) -> JSONResponse:
        return JSONResponse(self.render(refusal), status_code=refusal.status, headers=refusal.headers)

    def passed_on(self, error: GatewayError) -> Refusal:
        return Refusal.of(error, self.codes.get(error.code.value))


@dataclass(frozen=True, slots=True)
class HeaderDoc:
    description: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # Starlette's path syntax, e.g. "/api/bookings/{booking_id}"
    handler: Handler
    errors: ErrorShape
    summary: str
    tag: str
    description: str = ""
    request_model: type[BaseModel] | None = None
    # Whether a request without a body is refused (False: an empty body means the model's defaults).
    body_required: bool = True
    query_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    success_status: int = 200
    # The statuses this endpoint refuses with besides ALWAYS_DOCUMENTED, and what each means.
    refusals: Mapping[int, str] = field(default_factory=dict)
    security: Sequence[str] = ()  # names of shims.common.openapi.SECURITY_SCHEMES
    headers: Mapping[str, HeaderDoc] = field(default_factory=dict)
    # Path parameters' patterns and bounds (JSON Schema), by name; unnamed ones are strings of at most 64.
    path_schemas: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    def route(self) -> Route:
        return Route(self.path, _answering(self), methods=[self.method], name=f"{self.tag}:{self.method} {self.path}")


def routes_of(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One route per path: endpoints sharing a path (GET, PUT and DELETE of one resource) answer through one
    route, so a method none of them takes is a 405 whose Allow names all of theirs, not the first route's."""
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    routes: list[Route] = []
    for path, sharing in by_path.items():
        if len(sharing) == 1:
            routes.append(sharing[0].route())
            continue
        handlers = {endpoint.method: _answering(endpoint) for endpoint in sharing}
        if "GET" in handlers:
            handlers.setdefault("HEAD", handlers["GET"])

        async def dispatch(request: Request, handlers: dict[str, Handler] = handlers) -> Response:
            return await handlers[request.method](request)

        routes.append(Route(path, dispatch, methods=list(handlers), name=f"{sharing[0].tag}: {path}"))
    return routes


def request_id_of(request: Request) -> str:
    # The id observability.requests gave this request (and answered in X-Request-ID): one id everywhere.
    return current_request_id() or uuid.uuid4().hex


def _answering(endpoint: Endpoint) -> Handler:
    shape = endpoint.errors

    async def answer(request: Request) -> Response:
        try:
            try:
                return await endpoint.handler(request)
            except GatewayError as error:
                raise shape.passed_on(error) from error
        except Refusal as refusal:
            return shape.response(refusal)
        except Exception:
            request_id = request_id_of(request)
            logger.exception("%s %s failed (request %s)", endpoint.method, request.url.path, request_id)
            failure = Refusal(500, shape.server_error_code, f"Internal server error (request {request_id})")
            return shape.response(failure)

    return answer
