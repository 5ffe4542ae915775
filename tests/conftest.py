"""Fixtures that build real things: cache databases on SQLite files and on the machine's
PostgreSQL, and the gateway itself served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn
from clock import travel_to_test_instant
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from devnet.simulators.server import SimulatedLocation
from devnet.simulators.store import LocationStore
from identity.principal import Role
from server import create_app
from settings import Settings

T = TypeVar("T")
TRAVELLER = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TRAVELLER] = travel_to_test_instant()
    if not os.environ.get("GATEWAY_SECRET_KEY") and not os.environ.get("GATEWAY_SECRET_KEY_FILE"):
        # The run's master key (gateways and the CLI processes tests start inherit it), not the working tree's var/.
        folder = Path(tempfile.mkdtemp(prefix="gateway-test-key-"))
        os.environ["GATEWAY_SECRET_KEY_FILE"] = str(folder / "secret.key")
        os.environ.setdefault("GATEWAY_DEMO_CREDENTIALS_FILE", str(folder / "demo-credentials.json"))


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(TRAVELLER, None)
    if traveller is not None:
        traveller.stop()


POSTGRES_ADMIN_DSN = os.environ.get("GATEWAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@dataclass
class ThrowawayPostgres:
    """A database of its own on the machine's PostgreSQL, dropped afterwards."""

    name: str = field(default_factory=lambda: f"gateway_test_{uuid.uuid4().hex[:12]}")

    @property
    def url(self) -> str:
        server = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{server}/{self.name}"

    def create(self) -> None:
        asyncio.run(_admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty cache database, once per backend: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('cache') / 'gateway.sqlite3'}"
        return
    database = ThrowawayPostgres()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


class SqlStatementCounter:
    """Counts the SQL statements the gateway's engine sends for requests.

    The outbox worker and the heartbeat run in tasks named "background:..."; their
    periodic statements are not the request's and are left out.
    """

    def __init__(self, engine: AsyncEngine, on_reset: Callable[[], None] | None = None) -> None:
        self.count = 0
        self._lock = threading.Lock()
        # Counting what executing a request costs: `on_reset` empties the gateway's response cache, so the
        # next request is executed, not answered from memory (tests/test_response_cache.py covers that).
        self._on_reset = on_reset
        event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_: Any) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name().startswith("background:"):
            return
        with self._lock:
            self.count += 1

    def reset(self) -> None:
        if self._on_reset is not None:
            self._on_reset()
        with self._lock:
            self.count = 0


@dataclass
class RunningGateway:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.engine
        return engine

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine in the gateway's own event loop (its simulators live there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.app.state.loop).result(timeout=120)

    def simulator(self, location_id: str) -> SimulatedLocation:
        simulated: SimulatedLocation = self.app.state.simulators.locations[location_id]
        return simulated

    def store(self, location_id: str) -> LocationStore:
        store: LocationStore = self.app.state.simulators.stores[location_id]
        return store

    def demo_credentials(self) -> dict[str, dict[str, str]]:
        """The credentials the embedded demo made for its locations, as it wrote them for people to read."""
        path: Path = self.app.state.settings.demo_credentials_file
        locations: dict[str, dict[str, str]] = json.loads(path.read_text())["locations"]
        return locations

    @property
    def admin_token(self) -> str:
        """The embedded network admin's token, as the demo prints it; without the demo (a network file), one
        the gateway issues, as `python server.py issue-token --role network_admin` would."""
        token: str | None = getattr(self.app.state, "admin_token", None)
        if not token:
            authenticator = self.app.state.authenticator
            token = self.run(authenticator.issue(Role.NETWORK_ADMIN, subject="test-admin"))
            self.app.state.admin_token = token
        return token

    @property
    def headers(self) -> dict[str, str]:
        """Headers that authenticate a request as the network admin."""
        return {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """POST a GraphQL request, as the network admin unless other headers are given."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers if headers is None else headers,
            timeout=60,
            **kwargs,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


REPO = Path(__file__).resolve().parent.parent


def cli_token(database_url: str, *arguments: str, role: str = "network_admin") -> str:
    """`python server.py issue-token --role ROLE ARGS…` on the tests' clock: the token is its last line."""
    done = subprocess.run(
        [
            sys.executable,
            "tests/clocked.py",
            "server.py",
            "--database-url",
            database_url,
            "issue-token",
            "--role",
            role,
            *arguments,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def start_gateway(settings: Settings) -> RunningGateway:
    if settings.demo_credentials_file == Settings().demo_credentials_file:  # the default, or the run's (above)
        # Each gateway writes its demo's credentials to a file of its own, not into the working tree's var/.
        folder = Path(tempfile.mkdtemp(prefix="gateway-credentials-"))
        settings = settings.model_copy(update={"demo_credentials_file": folder / "demo-credentials.json"})
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A long keep-alive: many concurrent clients must not race the server closing idle connections.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=75))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.05)
    return RunningGateway(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)


def stop_gateway(gateway: RunningGateway) -> None:
    gateway.server.should_exit = True
    gateway.thread.join(timeout=30)
    if gateway.thread.is_alive():
        # Its shutdown is stuck (a background task that will not end): it runs on beside later tests.
        warnings.warn(f"the gateway at {gateway.url} did not stop within 30 s", stacklevel=2)


@pytest.fixture(scope="session")
def gateway(database_url: str) -> Iterator[RunningGateway]:
    """The gateway over real HTTP on 127.0.0.1, its cache migrated and filled with the demo network."""
    running = start_gateway(Settings(database_url=database_url, demo_network=True, sync_scheduler=False))
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture(scope="module", params=BACKENDS)
def own_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty cache database for one test module, for tests that change the network."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('own') / 'gateway.sqlite3'}"
        return
    database = ThrowawayPostgres()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


LIVE_SETTINGS: dict[str, Any] = {
    "heartbeat_seconds": 0.3,
    "outbox_poll_seconds": 0.1,
    "outbox_backoff_seconds": 0.2,
    "outbox_max_attempts": 4,
    "connector_timeout_seconds": 2.0,
    "connector_breaker_reset_seconds": 0.5,
    # Tests start their sync jobs themselves (tests/test_sync_*.py schedule their own).
    "sync_scheduler": False,
}


@pytest.fixture(scope="module")
def live_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A gateway of its own over the demo network's simulated locations, quick to notice outages and recoveries."""
    running = start_gateway(Settings(database_url=own_database_url, demo_network=True, **LIVE_SETTINGS))
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture(scope="session")
def sqlite_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A demo gateway on SQLite, for tests that need only one backend (the browser)."""
    path: Path = tmp_path_factory.mktemp("browser") / "gateway.sqlite3"
    running = start_gateway(Settings(database_url=f"sqlite+aiosqlite:///{path}", demo_network=True))
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture
def sql_statements(gateway: RunningGateway) -> Iterator[SqlStatementCounter]:
    response_cache = gateway.app.state.services.response_cache
    counter = SqlStatementCounter(gateway.engine, response_cache.invalidate if response_cache is not None else None)
    try:
        yield counter
    finally:
        event.remove(gateway.engine.sync_engine, "before_cursor_execute", counter._on_execute)
