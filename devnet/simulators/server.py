"""Run a simulated location on a 127.0.0.1 port, and let tests slow it, break it, stop it, restart it."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")

# The location whose uvicorn server the current task serves (its serve task and every connection task it starts
# inherit it); None in the gateway's own tasks.
_serving: ContextVar[str | None] = ContextVar("simulated_location", default=None)


class SimulatorServerLines(logging.Filter):
    """uvicorn logs every server's lines under the same "uvicorn.error" and "uvicorn.access" loggers: a simulated
    location's "Uvicorn running on …", startup, shutdown and access lines are dropped (they would pass for the
    gateway's own), its warnings and errors kept under devnet.simulators.<location id>."""

    def filter(self, record: logging.LogRecord) -> bool:
        location_id = _serving.get()
        if location_id is None:
            return True
        if record.levelno < logging.WARNING:
            return False
        record.name = f"devnet.simulators.{location_id}"
        return True


SIMULATOR_SERVER_LINES = SimulatorServerLines()  # stateless; adding it again is a no-op


@dataclass
class SimulatorControls:
    """Knobs a test turns while the location runs. Read on every request."""

    latency_seconds: float = 0.0
    failure_rate: float = 0.0  # share of requests answered 503
    requests_seen: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))


class ControlledApp:
    """ASGI middleware applying the controls before the location's own app answers."""

    def __init__(self, app: ASGIApp, controls: SimulatorControls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.controls.requests_seen += 1
        if self.controls.latency_seconds > 0:
            await asyncio.sleep(self.controls.latency_seconds)
        if self.controls.failure_rate > 0 and self.controls.rng.random() < self.controls.failure_rate:
            body = json.dumps({"error": "simulated failure", "code": "SERVER_ERROR"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class SimulatedLocation:
    """One location's app served by uvicorn inside the running event loop.

    `stop()` closes the listening socket, so callers see connection refused: a real
    outage, not an error page. `start()` again serves on the same port.
    """

    def __init__(self, location_id: str, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.location_id = location_id
        self.controls = SimulatorControls()
        self.app = ControlledApp(app, self.controls)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        # log_config=None, log_level=None, access_log left on: any of them makes a uvicorn.Config reconfigure the
        # process's shared "uvicorn" loggers (dictConfig, levels, handlers), and the gateway's own uvicorn lines
        # (its start, access, shutdown) disappeared. The filter keeps the simulators' lines out instead.
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, log_level=None, backlog=2048)
        server = uvicorn.Server(config)
        self._server = server
        for name in ("uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).addFilter(SIMULATOR_SERVER_LINES)
        serving = _serving.set(self.location_id)
        try:
            self._task = asyncio.create_task(server.serve(sockets=[sock]))
        finally:
            _serving.reset(serving)
        while not server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        # Refuse new connections at once rather than after the graceful drain.
        for listener in getattr(server, "servers", []):
            listener.close()
        await task


class SimulatorThread:
    """An event loop in a background thread hosting simulated locations, for tests.

    The gateway under test runs in its own thread, so a simulator never shares a loop
    with the code calling it.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulators", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=30)

    def call(self, function: Callable[[], Awaitable[T]]) -> T:
        async def invoke() -> T:
            return await function()

        return self.run(invoke())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
