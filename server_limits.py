"""The request body limit, for every route of the app (GraphQL and the REST shims) and every WebSocket message.

An HTTP request whose Content-Length is over the limit is answered 413 before a byte of its body is read; one
without a Content-Length (chunked) is read up to the limit, and answered 413 past it, before the route sees
anything, so no route ever has to cope with a body cut short. A WebSocket message over the limit closes the
connection with 1009 (message too big), and the app sees the client gone.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.errors import ErrorCode

WEBSOCKET_MESSAGE_TOO_BIG = 1009


def payload_too_large_body(limit: int) -> bytes:
    """The 413 answer: a GraphQL-shaped error, whichever route was asked."""
    error = {
        "message": f"The request body is larger than {limit} bytes",
        "extensions": {"code": ErrorCode.PAYLOAD_TOO_LARGE.value, "limit": limit},
    }
    return json.dumps({"errors": [error]}).encode()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before the app is called
    return None


class BodySizeLimit:
    """ASGI middleware: at most `max_bytes` per request body and per WebSocket message."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.app(scope, self._websocket_receive(receive, send), send)
        else:
            await self.app(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        body = payload_too_large_body(self.max_bytes)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The unread rest of the body would be taken for the next request on a kept-alive connection.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _content_length(scope)
        if length is not None:
            # The server holds the body to its Content-Length: checking the header is enough.
            if length > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                buffered.append(message)  # the client left: the app learns it as it would have
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            buffered.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    def _websocket_receive(self, receive: Receive, send: Send) -> Receive:
        limit = self.max_bytes

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                data = message.get("bytes")
                size = len(text.encode()) if text is not None and len(text) * 4 > limit else len(text or data or b"")
                if size > limit:
                    await send({"type": "websocket.close", "code": WEBSOCKET_MESSAGE_TOO_BIG, "reason": ""})
                    return {"type": "websocket.disconnect", "code": WEBSOCKET_MESSAGE_TOO_BIG}
            return message

        return limited
