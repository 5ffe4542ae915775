"""A GraphQL-over-WebSocket client for tests, speaking graphql-transport-ws or the legacy graphql-ws."""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict, deque
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]


class OperationError(AssertionError):
    """The server answered an operation with errors instead of data."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors

    @property
    def codes(self) -> list[str | None]:
        return [(error.get("extensions") or {}).get("code") for error in self.errors]


class GraphQLSocket:
    """One WebSocket connection to /graphql; several operations may run on it at once."""

    def __init__(self, http_url: str, protocol: str = TRANSPORT_WS, *, token: str | None = None) -> None:
        """`token`: sent in connection_init as `Authorization: Bearer <token>`; None sends an empty payload."""
        self.protocol = protocol
        url = http_url.replace("http://", "ws://", 1) + "/graphql"
        # Entered by hand: the socket outlives this call and is closed by close() / the with block.
        self.ws: ClientConnection = connect(url, subprotocols=[Subprotocol(protocol)], open_timeout=10).__enter__()
        assert self.ws.subprotocol == protocol, self.ws.subprotocol
        self._ids = itertools.count(1)
        self._inbox: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = self._receive(time.monotonic() + 10)
        assert ack["type"] == "connection_ack", ack

    def __enter__(self) -> GraphQLSocket:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self._ids))
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        self.ws.send(json.dumps({"id": operation_id, "type": kind, "payload": payload}))
        return operation_id

    def stop(self, operation_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        self.ws.send(json.dumps({"id": operation_id, "type": kind}))

    def next(self, operation_id: str, seconds: float = 5.0) -> dict[str, Any]:
        """The operation's next result's data; raises OperationError for errors, TimeoutError if none comes."""
        deadline = time.monotonic() + seconds
        while True:
            inbox = self._inbox[operation_id]
            if inbox:
                message = inbox.popleft()
                payload: Any = message.get("payload")
                if message["type"] == "error":
                    raise OperationError(payload if isinstance(payload, list) else [payload])
                if message["type"] in ("complete", "stop"):
                    raise AssertionError(f"operation {operation_id} completed")
                if payload.get("errors"):
                    raise OperationError(payload["errors"])
                data: dict[str, Any] = payload["data"]
                return data
            message = self._receive(deadline)
            if "id" in message:
                self._inbox[message["id"]].append(message)

    def sync(self) -> None:
        """Returns once the server has started every operation sent before (it starts them in order)."""
        self.query("{ __typename }")

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A query or mutation over this connection (graphql-transport-ws runs those too)."""
        return self.next(self.subscribe(query, variables))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the gateway in time")
            message: dict[str, Any] = json.loads(self.ws.recv(timeout=left))
            if message["type"] in ("ka", "ping", "pong"):
                if message["type"] == "ping":
                    self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message
