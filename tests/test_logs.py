"""The gateway's logs as an operator reads them: `python server.py` writes one JSON object per line (or plain text
when asked), uvicorn's own lines survive the simulated locations' servers, and every HTTP request has one access
line carrying the same request id the client got back in `X-Request-ID`, with the caller and the operation."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import RunningGateway
from observability.logs import JsonLines, RequestStamp

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = "query DashboardCount { bookings(first: 1) { totalCount } }"
PING = "query Ping { __typename }"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class ServedProcess:
    """`python server.py` on a free port, its output (stdout and stderr) in a file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def lines(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(folder: Path, **environment: str) -> ServedProcess:
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'gateway.sqlite3'}",
        "GATEWAY_DEMO_CREDENTIALS_FILE": str(folder / "demo-credentials.json"),
        "GATEWAY_SECRET_KEY_FILE": str(folder / "secret.key"),
        "GATEWAY_SYNC_SCHEDULER": "false",
        **environment,
    }
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "tests/clocked.py", "server.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    served = ServedProcess(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the server exited:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{served.url}/health/live", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    served.stop()
    raise AssertionError("the server did not come up:\n" + log.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def demo_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """The embedded demo as `python server.py` serves it (simulated locations and all), its output not a TTY."""
    served = serve(tmp_path_factory.mktemp("demo-logs"))
    try:
        yield served
    finally:
        served.stop()


def _entries(lines: list[str]) -> list[dict[str, Any]]:
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object: nothing else is written
        assert isinstance(entry, dict) and {"timestamp", "level", "logger", "message"} <= set(entry), line
        entries.append(entry)
    return entries


def _admin_token(entries: list[dict[str, Any]]) -> str:
    printed = next(entry["message"] for entry in entries if entry["message"].startswith("admin token"))
    token: str = printed.splitlines()[-1]
    return token


def test_the_demo_logs_json_lines_with_uvicorn_lines_and_an_access_line_per_request(
    demo_process: ServedProcess,
) -> None:
    token = _admin_token(_entries(demo_process.lines()))
    graphql = f"{demo_process.url}/graphql"
    traced = httpx.post(
        graphql,
        json={"query": DASHBOARD},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "dashboard-42"},
    )
    assert traced.status_code == 200 and "errors" not in traced.json()
    assert traced.headers["x-request-id"] == "dashboard-42"
    refused = httpx.post(graphql, json={"query": DASHBOARD}, headers={"Authorization": "Bearer forged"})
    assert refused.status_code == 401
    refused_id = refused.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(refused_id)

    demo_process.stop()
    entries = _entries(demo_process.lines())

    # The gateway's own server lines, once each: the simulators' servers neither silence nor imitate them.
    running = [entry for entry in entries if entry["message"].startswith("Uvicorn running on")]
    assert [(entry["logger"], entry["message"]) for entry in running] == [
        ("uvicorn.error", f"Uvicorn running on {demo_process.url} (Press CTRL+C to quit)")
    ]
    messages = [entry["message"] for entry in entries if entry["logger"] == "uvicorn.error"]
    assert {"Application startup complete.", "Shutting down", "Application shutdown complete."} <= set(messages)

    access = {entry["request_id"]: entry for entry in entries if entry["logger"] == "gateway.access"}
    served = access["dashboard-42"]
    assert {key: served[key] for key in ("level", "http_method", "http_path", "http_status", "subject")} == {
        "level": "INFO",
        "http_method": "POST",
        "http_path": "/graphql",
        "http_status": 200,
        "subject": "demo-admin",
    }
    assert served["operation"] == "DashboardCount"
    assert isinstance(served["duration_ms"], float | int) and served["duration_ms"] >= 0
    # A refused credential: the access line says so, with no subject (nobody was authenticated).
    assert access[refused_id]["http_status"] == 401 and "subject" not in access[refused_id]


def test_a_client_request_id_is_answered_and_a_malformed_one_replaced(gateway: RunningGateway) -> None:
    for path in ("/graphql", "/api/bookings", "/health/live"):
        given = httpx.post(f"{gateway.url}{path}", json={"query": PING}, headers={"X-Request-ID": "client:abc-1"})
        assert given.headers["x-request-id"] == "client:abc-1", path
        for malformed in ("x" * 129, "two words", "line\tbreak"):
            answered = httpx.post(f"{gateway.url}{path}", json={"query": PING}, headers={"X-Request-ID": malformed})
            assert GENERATED_ID.fullmatch(answered.headers["x-request-id"]), (path, malformed)
        made = httpx.get(f"{gateway.url}{path}")
        assert GENERATED_ID.fullmatch(made.headers["x-request-id"]), path


def test_text_logs_for_a_terminal_carry_the_request_id_subject_and_operation(tmp_path: Path) -> None:
    served = serve(
        tmp_path,
        GATEWAY_LOG_FORMAT="text",
        GATEWAY_DEMO_NETWORK="false",
        GATEWAY_SIMULATE_LOCATIONS="false",
    )
    try:
        response = httpx.post(f"{served.url}/graphql", json={"query": PING}, headers={"X-Request-ID": "text-1"})
        assert response.json() == {"data": {"__typename": "Query"}}
    finally:
        served.stop()
    lines = served.lines()
    assert any(re.search(rf"INFO uvicorn.error: Uvicorn running on {served.url}", line) for line in lines), lines
    access = [line for line in lines if " gateway.access " in line]
    assert any(re.search(r" \[text-1 anonymous Ping\]: POST /graphql 200 [\d.]+ ms$", line) for line in access), access
    for line in lines:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


def test_an_exception_is_one_field_of_its_json_line() -> None:
    try:
        raise ValueError("the cache said no")
    except ValueError:
        record = logging.LogRecord("gateway.errors", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info())
    assert RequestStamp().filter(record)
    line = JsonLines().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed once" and entry["level"] == "ERROR" and entry["logger"] == "gateway.errors"
    assert entry["exception"]["type"] == "ValueError" and entry["exception"]["message"] == "the cache said no"
    assert 'raise ValueError("the cache said no")' in entry["exception"]["traceback"]
    assert "request_id" not in entry  # logged outside any request
