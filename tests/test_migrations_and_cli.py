"""Migrations build exactly the models' schema; the CLI migrates a configured database and serves."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url

from conftest import ThrowawayPostgres, cli_token
from sources.cache.database import create_engine
from sources.cache.models import Base

ROOT = Path(__file__).resolve().parent.parent


def _differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async def run() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tests/clocked.py", "server.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_the_migrate_command_brings_an_empty_postgresql_database_to_the_models_schema() -> None:
    database = ThrowawayPostgres()
    database.create()
    try:
        migrated = _cli("--database-url", database.url, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert re.search(r"database at revision \w+", migrated.stdout)
        assert _differences(database.url) == []
        again = _cli("--database-url", database.url, "migrate")
        assert again.returncode == 0 and again.stdout == migrated.stdout
    finally:
        database.drop()


def test_migrating_a_postgresql_database_that_does_not_exist_fails_with_one_line_naming_it() -> None:
    missing = make_url(ThrowawayPostgres().url).set(password="hunter2")  # a fresh name, never created
    failed = _cli("--database-url", missing.render_as_string(hide_password=False), "migrate")
    assert failed.returncode == 1
    assert failed.stdout == ""
    shown = missing.render_as_string(hide_password=True)
    assert "hunter2" not in failed.stderr and shown.startswith("postgresql+asyncpg://postgres:***@")
    assert failed.stderr.splitlines() == [
        f'cannot open the database {shown}: database "{missing.database}" does not exist '
        f"(create it first: createdb -h {missing.host} -p {missing.port} -U {missing.username} {missing.database})"
    ]


def test_the_migrate_command_brings_a_new_sqlite_file_to_the_models_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cache.sqlite3'}"
    migrated = _cli("migrate", env={"GATEWAY_DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    assert _differences(url) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_python_server_py_serves_the_demo_network_on_the_port_given(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'embedded.sqlite3'}"}
    process = subprocess.Popen(
        [sys.executable, "tests/clocked.py", "server.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/graphql"
        anonymous = httpx.post(url, json={"query": "{ bookings { totalCount } }"}).json()
        assert [error["extensions"]["code"] for error in anonymous["errors"]] == ["UNAUTHENTICATED"]
        token = cli_token(env["GATEWAY_DATABASE_URL"])
        authorization = {"Authorization": f"Bearer {token}"}
        body = httpx.post(url, json={"query": "{ bookings { totalCount } }"}, headers=authorization).json()
        assert body["data"]["bookings"]["totalCount"] >= 5000
        page = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in output
