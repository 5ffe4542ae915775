"""Starting the benchmarked servers as pinned uvicorn processes, and waiting for them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVER_CPU = 0
CLIENT_CPU = 1
STARTUP_TIMEOUT_S = 180.0
REPO = Path(__file__).resolve().parent.parent


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
    name: str, kind: str, database_url: str, workdir: Path, pin: bool, repo: Path = REPO
) -> Iterator[Server]:
    """Serve `kind` (gateway or floor) with the code of `repo`; bench.serve comes from there or from here."""
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
        # One master key for every server of a run: a candidate checkout reads the secrets the first one wrote.
        "GATEWAY_SECRET_KEY_FILE": str(credentials_file.parent / "secret.key"),
    }


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                if client.get(f"http://127.0.0.1:{server.port}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {STARTUP_TIMEOUT_S:.0f} s:\n{server.log_tail()}")
