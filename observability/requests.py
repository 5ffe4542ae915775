"""Which request a log line belongs to, and one access line per HTTP request.

`RequestLogging` (outermost ASGI middleware) gives every HTTP request and WebSocket connection a request id
(the client's `X-Request-ID` when it is a sane one, else a new one), answers it in the `X-Request-ID` header,
and keeps a `RequestRecord` in a context variable for the request's task and the tasks it starts. The layers
above fill in what only they learn (the principal's subject, the GraphQL operation name) through `annotate`;
the access line and every log record (observability.logs.RequestStamp) read it from there.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
# Bounded length and charset: the id is echoed in a header and written into every log line.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

access_logger = logging.getLogger("gateway.access")


@dataclass
class RequestRecord:
    """What is known about the request being served; mutable, because it is learnt on the way in."""

    request_id: str
    subject: str | None = None
    operation: str | None = None


# Not state of the module: each request's task sees its own record (a ContextVar is per task context).
_current: ContextVar[RequestRecord | None] = ContextVar("gateway_request", default=None)


def current_request() -> RequestRecord | None:
    return _current.get()


def current_request_id() -> str | None:
    record = _current.get()
    return record.request_id if record else None


def annotate(*, subject: str | None = None, operation: str | None = None) -> None:
    """Name the principal or the GraphQL operation of the request being served (no-op outside a request)."""
    record = _current.get()
    if record is None:
        return
    if subject is not None:
        record.subject = subject
    if operation is not None:
        record.operation = operation


def accepted_request_id(given: bytes | None) -> str:
    """The client's request id when it is short and plain enough to echo, else a new one."""
    if given is not None:
        text = given.decode("latin-1")
        if _ACCEPTED_REQUEST_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


class RequestLogging:
    """ASGI middleware: the request id in and out, the request's record in context, one access line per HTTP
    request (method, path, status, duration, request id, subject, operation) under `gateway.access`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == REQUEST_ID_HEADER), None)
        record = RequestRecord(accepted_request_id(given))
        token = _current.set(record)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, record)
            else:
                await self.app(scope, receive, send)
        finally:
            _current.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, record: RequestRecord) -> None:
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before starting a response
        header = (REQUEST_ID_HEADER, record.request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(name, value) for name, value in message.get("headers", []) if name != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            access_logger.info(
                "%s %s %d %.2f ms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "http_method": scope["method"],
                    "http_path": scope["path"],
                    "http_status": status,
                    "duration_ms": duration_ms,
                },
            )
