"""The GraphQL endpoint over HTTP and WebSocket, with the caller authenticated before anything runs.

HTTP: `Authorization: Bearer <token>`; a token that does not verify is a 401 before the request is
parsed, so a bad credential never silently becomes an anonymous one. WebSocket: the token in the
`connection_init` payload (`{"Authorization": "Bearer …"}`, or `{"token": "…"}`), or the upgrade request's
Authorization header; a bad one rejects the connection (graphql-transport-ws closes it with 4403).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from identity.principal import ANONYMOUS, Principal
from identity.tokens import InvalidToken
from observability.requests import current_request_id
from resolvers.authentication import Authenticator
from resolvers.context import Context
from resolvers.errors import ErrorCode

PRINCIPAL_KEY = "gateway.principal"
CONNECTION_PARAM_NAMES = ("Authorization", "authorization", "authToken", "token")


def unauthenticated_body(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": ErrorCode.UNAUTHENTICATED.value}}]}


def _authorization_of(params: dict[str, Any]) -> str | None:
    for name in CONNECTION_PARAM_NAMES:
        value = params.get(name)
        if isinstance(value, str) and value:
            return value if name in ("Authorization", "authorization") else f"Bearer {value}"
    return None


class AuthenticatedGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the gateway's request context, run as the authenticated principal."""

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
                    media_type="application/json",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
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
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization = _authorization_of(context.connection_params or {})
        if authorization is not None:
            try:
                context.act_as(await context.services.authenticator.principal_for(authorization))
            except InvalidToken as error:
                raise ConnectionRejectionError(unauthenticated_body(str(error))["errors"][0]) from error
        return await super().on_ws_connect(context)
