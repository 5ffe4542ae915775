"""A minimal graphql-transport-ws client on a raw asyncio protocol: thousands of subscribers in one process.

A WebSocket library's per-message machinery (tasks, queues, UTF-8 checks) costs the client more than the
server spends per subscriber, so with 10,000 subscribers the client, not the gateway, would be measured.
This one does only what the benchmark needs: the upgrade, masked text frames out (a zero mask: valid,
and the payload stays as is), unmasked frames in, answering pings. While streaming it stamps each chunk
read off the socket with the wall clock once and keeps the frames' payloads for parsing afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def client_frame(payload: bytes, opcode: int = TEXT) -> bytes:
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + b"\0\0\0\0" + payload


class Subscriber(asyncio.Protocol):
    """One WebSocket; `messages()` during setup, then `stream()`: every text frame lands in `received`."""

    def __init__(self, host: str, path: str, on_message: Callable[[], None]) -> None:
        self.host = host
        self.path = path
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.streaming = False
        self.received: list[tuple[float, bytes]] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes
        assert self.transport is not None
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head.decode(errors="replace")[:200]))
                return
            self.upgraded.set_result(None)
        now = time.time()
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, size, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                size, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                size, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + size:
                return
            payload = bytes(buffer[start : start + size])
            del buffer[: start + size]
            self._frame(opcode, payload, now)

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == TEXT:
            if self.streaming:
                self.received.append((now, payload))
                self.on_message()
            else:
                self.inbox.put_nowait(payload)
        elif opcode == PING and self.transport is not None:
            self.transport.write(client_frame(payload, PONG))
        elif opcode == CLOSE:
            self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before the upgrade"))

    def send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(json.dumps(message).encode()))

    async def message(self, seconds: float = 60.0) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(await asyncio.wait_for(self.inbox.get(), seconds))
        return decoded

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(struct.pack("!H", 1000), CLOSE))
            self.transport.close()


async def subscribe(
    host: str, port: int, token: str, query: str, variables: dict[str, Any], on_message: Callable[[], None]
) -> Subscriber:
    """A connected, acknowledged subscriber whose subscription (operation id "s") is live on the server."""
    loop = asyncio.get_running_loop()
    _, subscriber = await loop.create_connection(
        lambda: Subscriber(f"{host}:{port}", "/graphql", on_message), host, port
    )
    await asyncio.wait_for(subscriber.upgraded, 60)
    subscriber.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"} if token else {}})
    if (ack := await subscriber.message())["type"] != "connection_ack":
        raise ConnectionError(f"not acknowledged: {ack}")
    subscriber.send({"id": "s", "type": "subscribe", "payload": {"query": query, "variables": variables}})
    # The server starts a connection's operations in order: once a later query completes, the subscription is live.
    subscriber.send({"id": "q", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    while (answer := await subscriber.message()).get("id") != "q" or answer["type"] != "complete":
        if answer.get("id") == "s":
            raise ConnectionError(f"the subscription did not start: {answer}")
    subscriber.streaming = True
    return subscriber
