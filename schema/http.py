"""The GraphQL endpoint over HTTP and WebSocket, with the caller authenticated before anything runs.

HTTP: `Authorization: Bearer <token>`; a token that does not verify is a 401 before the request is
parsed, so a bad credential never silently becomes an anonymous one. WebSocket: the token in the
`connection_init` payload (`{"Authorization": "Bearer …"}`, or `{"token": "…"}`), or the upgrade request's
Authorization header; a bad one rejects the connection (graphql-transport-ws closes it with 4403).

What HTTP requests may run and how their answers are shaped (media types, status codes, refusals) is
schema/http_rules.py; this view applies it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from identity.principal import ANONYMOUS, Principal
from identity.tokens import InvalidToken
from observability.requests import current_request_id
from resolvers.authentication import Authenticator
from resolvers.context import Context
from resolvers.errors import ErrorCode
from schema.compiled.lane import CompiledLane
from schema.http_parameters import posted_operation
from schema.http_rules import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    check_operation_name,
    content_type,
    is_request_error,
    missing_query_refusal,
    not_acceptable,
    operation_type_refusal,
    plain_http_operation_types,
    refusal_response,
    response_headers,
    response_media_type,
    response_status,
    unknown_operation_result,
)
from schema.response_cache import begin_caching, cached_response, store_answer
from schema.subscriptions.transports import SharedBytesGraphQLWS, SharedBytesTransportWS

PRINCIPAL_KEY = "gateway.principal"
RATE_LIMIT_SPENT = "gateway.rate_limit_spent"
CONNECTION_PARAM_NAMES = ("Authorization", "authorization", "authToken", "token")


def unauthenticated_body(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": ErrorCode.UNAUTHENTICATED.value}}]}


def _accept_of(headers: dict[bytes, bytes]) -> str | None:
    accept = headers.get(b"accept")
    return accept.decode("latin-1") if accept is not None else None


def _authorization_of(params: dict[str, Any]) -> str | None:
    for name in CONNECTION_PARAM_NAMES:
        value = params.get(name)
        if isinstance(value, str) and value:
            return value if name in ("Authorization", "authorization") else f"Bearer {value}"
    return None


class AuthenticatedGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the gateway's request context, run as the authenticated principal."""

    # A shared subscription's answer goes to each subscriber as the bytes encoded once (schema/subscriptions).
    graphql_transport_ws_handler_class = SharedBytesTransportWS
    graphql_ws_handler_class = SharedBytesGraphQLWS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            authenticator: Authenticator = scope["app"].state.authenticator
            headers = dict(scope.get("headers") or [])
            authorization = headers.get(b"authorization")
            try:
                scope[PRINCIPAL_KEY] = await authenticator.principal_for(
                    authorization.decode("latin-1") if authorization is not None else None
                )
            except InvalidToken as error:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 4403, "reason": str(error)[:120]})
                    return
                response = Response(
                    json.dumps(unauthenticated_body(str(error))),
                    status_code=401,
                    headers={
                        "WWW-Authenticate": 'Bearer error="invalid_token"',
                        "Content-Type": content_type(response_media_type(_accept_of(headers))),
                    },
                )
                await response(scope, receive, send)
                return
        if scope["type"] == "http":
            # Strawberry's own __call__ answers its refusals in plain text; these are GraphQL errors.
            request = Request(scope=scope, receive=receive)
            principal: Principal = scope.get(PRINCIPAL_KEY, ANONYMOUS)
            try:
                response = (
                    await cached_response(request, principal, self.encode_response)
                    or await self._compiled_lane_response(request)
                    or await self.run(request)
                )
            except HTTPException as refusal:
                response = refusal_response(refusal, response_media_type(request.headers.get("accept")))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _compiled_lane_response(self, request: Request) -> Response | None:
        """A query text the compiled read path answered before, answered again without strawberry's pipeline
        (schema/compiled/lane.py); None: the ordinary way answers."""
        lane: CompiledLane | None = getattr(self.schema, "compiled_lane", None)
        settings = request.app.state.settings
        if lane is None or not settings.compiled_reads or request.method != "POST":
            return None
        headers = request.headers
        accept = headers.get("accept")
        media_type = response_media_type(accept)
        if media_type is None or "application/json" not in headers.get("content-type", ""):
            return None
        if accept is not None and ("multipart/" in accept or "text/event-stream" in accept):
            return None  # the view's transport negotiation decides
        parameters = await posted_operation(request)
        if parameters is None or parameters.extensions is not None:
            return None  # request extensions reach the execution: strawberry's to pass on
        entry = lane.entry(parameters.query, parameters.operation_name)
        if entry is None:
            return None
        context = self._context(request)
        answer = await lane.answer(entry, context, parameters.variables or {})
        if answer.body is None or answer.result is None:
            if answer.token_spent:
                request.scope[RATE_LIMIT_SPENT] = True
            return None
        caching = begin_caching(request, context)
        if caching is not None:
            store_answer(caching, answer.result, context, self.encode_response)
        status = response_status(answer.body, media_type)
        return Response(
            self.encode_response(answer.body),
            status_code=status,
            headers={**response_headers(answer.body, status), "Content-Type": content_type(media_type)},
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Read back by execute_single and create_response: the media type the answer takes (None: 406).
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        request_data = await super().parse_http_body(request)
        for data in request_data if isinstance(request_data, list) else [request_data]:
            check_operation_name(data.operation_name)  # strawberry checks the other parameters' types
        return request_data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Only requests that ask for no stream get here: the view streams the others before.
        if sub_response.media_type is None:
            raise not_acceptable(request.headers.get("accept", ""))
        caching = begin_caching(request, context)
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=plain_http_operation_types(request_adapter.method),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as refused:
            raise operation_type_refusal(
                refused.operation_type, request_adapter.method, self.protocols, request.url.path
            ) from refused
        except CannotGetOperationTypeError as unknown:
            # A request error like any other (the spec's "operation cannot be determined"), not a refusal.
            return unknown_operation_result(unknown.as_http_error_reason())
        except MissingQueryError as missing:
            raise missing_query_refusal() from missing
        if caching is not None:
            store_answer(caching, result, context, self.encode_response)
        return result

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if response_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON and is_request_error(result):
            del response["data"]  # nothing was executed: the spec's response has no data entry, not a null one
        return response

    def encode_response(self, data: object) -> bytes:
        """An HTTP answer's body. orjson: fast, and it writes the compiled read path's JSON (orjson.Fragment) out as
        the database built it. A string that is not Unicode text (a lone surrogate echoed from the input in an
        error message) it refuses; json.dumps escapes it, as every answer was encoded before. WebSocket messages
        keep strawberry's encode_json: its transports send text frames of it."""
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            encoded = self.encode_json(data)
            return encoded.encode() if isinstance(encoded, str) else encoded

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or APPLICATION_JSON
        status = 200 if isinstance(response_data, list) else response_status(response_data, media_type)
        extra = {} if isinstance(response_data, list) else response_headers(response_data, status)
        response = Response(
            self.encode_response(response_data),
            status_code=sub_response.status_code or status,
            headers={**extra, "Content-Type": content_type(media_type)},
        )
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return self._context(request)

    def _context(self, request: Request | WebSocket) -> Context:
        state = request.app.state
        principal: Principal = request.scope.get(PRINCIPAL_KEY, ANONYMOUS)
        return Context(
            engine=state.engine,
            settings=state.settings,
            bus=state.bus,
            # The id observability.requests gave this request (and answered in X-Request-ID): one id everywhere.
            request_id=current_request_id() or uuid.uuid4().hex,
            opened_services=state.services,
            principal=principal,
            compiled_reads=state.settings.compiled_reads and isinstance(request, Request),
            single_reads=getattr(state, "single_reads", None),
            # The compiled lane took this request's rate-limit token before it sent it this way.
            rate_limit_spent=request.scope.get(RATE_LIMIT_SPENT, False),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization = _authorization_of(context.connection_params or {})
        if authorization is not None:
            try:
                context.act_as(await context.services.authenticator.principal_for(authorization))
            except InvalidToken as error:
                raise ConnectionRejectionError(unauthenticated_body(str(error))["errors"][0]) from error
        return await super().on_ws_connect(context)
