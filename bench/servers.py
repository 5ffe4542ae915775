"""Starting the benchmarked servers as pinned uvicorn processes, and waiting for them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVER_CPU = 0
CLIENT_CPU = 1
STARTUP_TIMEOUT_S = 180.0
REPO = Path(__file__).resolve().parent.parent
PEER_DIR = REPO / "bench" / "peer"
PEER_INSTALL_TIMEOUT_S = 900.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinning_works() -> bool:
    return hasattr(os, "sched_setaffinity") and {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    # Where a gateway's demo wrote its admin token (older checkouts, and the floor, write none).
    credentials_file: Path | None = None

    @property
    def token(self) -> str:
        """The network admin's token the gateway printed; "" for a server that needs none."""
        if self.credentials_file is None or not self.credentials_file.exists():
            return ""
        token: str = json.loads(self.credentials_file.read_text()).get("admin_token", "")
        return token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> tuple[float, float]:
        """User and system CPU of the whole process (all threads) so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def running_server(
    name: str,
    kind: str,
    database_url: str,
    workdir: Path,
    pin: bool,
    repo: Path = REPO,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Serve `kind` (gateway or floor) with the code of `repo`; bench.serve comes from there or from here.

    `extra_env` is added last to the process's environment (a gateway variant's settings, e.g.
    GATEWAY_COMPILED_READS=false), so it overrides the bench's own variables."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "bench.serve", kind, "--database-url", database_url, "--port", str(port)]
    if pin:
        command += ["--cpu", str(SERVER_CPU)]
    credentials = workdir / f"{name}-credentials.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(repo), str(REPO)]),
        **bench_gateway_environment(credentials),
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(name, port, process, log_path, credentials)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def bench_gateway_environment(credentials_file: Path) -> dict[str, str]:
    """A benchmarked gateway writes its admin token where the bench reads it, and limits no one's rate: the
    bench measures answers, and its clients would otherwise spend the admin's bucket in seconds."""
    return {
        "GATEWAY_DEMO_CREDENTIALS_FILE": str(credentials_file),
        "GATEWAY_RATE_LIMITS": "{}",
        # Cold by default: every request executed. bench.response_cache, or a variant
        # (`--variant warm:GATEWAY_RESPONSE_CACHE=true`), measures the warm cache.
        "GATEWAY_RESPONSE_CACHE": os.environ.get("GATEWAY_RESPONSE_CACHE", "false"),
        # One master key for every server of a run: a candidate checkout reads the secrets the first one wrote.
        "GATEWAY_SECRET_KEY_FILE": str(credentials_file.parent / "secret.key"),
    }


def health_answers(client: httpx.Client, server: Server) -> bool:
    return client.get(f"http://127.0.0.1:{server.port}/health").status_code == 200


def typename_answers(client: httpx.Client, server: Server) -> bool:
    """Apollo Server 4+ has no health route: a server that answers `{ __typename }` is ready."""
    answer = client.post(f"http://127.0.0.1:{server.port}/graphql", json={"query": "{ __typename }"})
    return answer.status_code == 200


def wait_ready(server: Server, probe: Callable[[httpx.Client, Server], bool] = health_answers) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                if probe(client, server):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def install_peer() -> None:
    """bench/peer/install.sh: npm ci of the pinned peer when node_modules is missing or stale, else nothing."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("the Node peer needs node and npm (Node.js 20+), which are not installed")
    result = subprocess.run(
        ["bash", str(PEER_DIR / "install.sh")],
        capture_output=True,
        text=True,
        timeout=PEER_INSTALL_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"bench/peer/install.sh failed ({result.returncode}):\n{(result.stdout + result.stderr)[-2000:]}"
        )


def _pin_to_server_cpu() -> None:
    os.sched_setaffinity(0, {SERVER_CPU})


@contextmanager
def running_peer(name: str, sqlite_path: Path, workdir: Path, pin: bool, log_sql: bool = False) -> Iterator[Server]:
    """The Node peer (bench/peer/server.mjs, installed first) on the gateway's SQLite file, pinned when `pin`.

    Affinity is set in the child before exec, so every thread Node starts (V8's, libuv's) inherits it."""
    install_peer()
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = ["node", str(PEER_DIR / "server.mjs"), "--database", str(sqlite_path), "--port", str(port)]
    if log_sql:
        command.append("--log-sql")
    # production: how it would be deployed (no landing page, no stack traces in errors).
    env = {**os.environ, "NODE_ENV": "production"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PEER_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_pin_to_server_cpu if pin else None,
        )
    server = Server(name, port, process, log_path)
    try:
        wait_ready(server, typename_answers)
        yield server
    finally:
        server.stop()
