"""Dashboard query: the gateway against a hand-written floor server, same SQL, same SQLite file.

    .venv/bin/python -m bench.dashboard                  # ~2 minutes
    .venv/bin/python -m bench.dashboard --rounds 1 --duration 3 --profile /tmp/gateway.txt
    .venv/bin/python -m bench.dashboard --candidate /tmp/scratch   # also the gateway of another checkout

The servers run as separate uvicorn processes (uvloop, httptools, one worker) pinned to core 0;
this process generates load over raw HTTP/1.1 keep-alive connections, pinned to core 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.pyspy import summarize_collapsed

DASHBOARD_QUERY = """
query Dashboard($first: Int!) {
  bookings(first: $first, sort: START_AT_DESC) {
    totalCount
    edges {
      cursor
      node {
        id status startAt endAt
        price { amount currency }
        customer { id fullName email }
        service { id name durationMinutes }
        resource { id name kind }
        serviceLocation { id name }
        originatingLocation { id name }
        revenueSplit { role sharePercent amount { amount currency } location { name } }
      }
    }
  }
}
"""

SERVER_CPU = 0
CLIENT_CPU = 1
STARTUP_TIMEOUT_S = 180.0
MAX_REQUESTS_PER_CELL = 500_000
REQUEST_TIMEOUT_S = 30.0
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- servers


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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(REPO)])}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(name, port, process, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


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


# ---------------------------------------------------------------- load


def request_bytes(port: int, body: bytes) -> bytes:
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """One request on a keep-alive connection; the response must carry a Content-Length."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length is None:
        raise RuntimeError(f"response without Content-Length: {head!r}")
    return status, await reader.readexactly(length)


@dataclass
class Cell:
    target: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    client_cpu: float  # fraction of one core
    server_cpu: float  # fraction of one core
    server_sys: float  # the part of server_cpu spent in the kernel

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu * self.seconds / self.requests if self.requests else float("nan")


async def _worker(port: int, request: bytes, deadline: float, budget: list[int], latencies: list[float]) -> int:
    """Requests back to back on one connection until the deadline; returns the number of failed ones."""
    errors = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(exchange(reader, writer, request), REQUEST_TIMEOUT_S)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, RuntimeError):
                return errors + 1  # the connection is unusable: this worker stops
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"errors"' in body:
                errors += 1
    finally:
        writer.close()
    return errors


async def load(server: Server, body: bytes, concurrency: int, seconds: float) -> Cell:
    request = request_bytes(server.port, body)
    latencies: list[float] = []
    budget = [MAX_REQUESTS_PER_CELL]
    cpu_client, (user_before, sys_before) = time.process_time(), server.cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds
    workers = (_worker(server.port, request, deadline, budget, latencies) for _ in range(concurrency))
    errors = await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    user_after, sys_after = server.cpu_seconds()
    return Cell(
        target=server.name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=sum(errors),
        seconds=elapsed,
        latencies_ms=latencies,
        client_cpu=(time.process_time() - cpu_client) / elapsed,
        server_cpu=(user_after - user_before + sys_after - sys_before) / elapsed,
        server_sys=(sys_after - sys_before) / elapsed,
    )


# ---------------------------------------------------------------- checks and reports


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def compare_answers(reference: Server, others: Sequence[Server], body: bytes) -> bool:
    """Whether every server answers the query with the same JSON as `reference` (printed)."""
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        answers = {
            server.name: client.post(f"http://127.0.0.1:{server.port}/graphql", content=body, headers=headers)
            for server in (reference, *others)
        }
    for name, answer in answers.items():
        print(f"  {name}: HTTP {answer.status_code}, {len(answer.content):,} bytes")
    expected = answers[reference.name].json()
    if "errors" in expected:
        print(f"  {reference.name} answered with errors: {json.dumps(expected['errors'])[:500]}")
    edges = len(expected.get("data", {}).get("bookings", {}).get("edges", []))
    all_match = True
    for server in others:
        difference = first_difference(expected, answers[server.name].json())
        print(f"  {server.name} matches {reference.name}: {'yes' if difference is None else 'NO'} ({edges} edges)")
        if difference:
            print(f"    first difference: {difference}")
            all_match = False
    return all_match


def print_cell(round_number: int, cell: Cell, width: int) -> None:
    print(
        f"  round {round_number}  {cell.target:<{width}} c={cell.concurrency:<3} {cell.rps:8.1f} req/s"
        f"  p50 {cell.percentile(50):7.2f} ms  p99 {cell.percentile(99):7.2f} ms"
        f"  server CPU {cell.server_cpu:4.0%} (sys {cell.server_sys:3.0%}, {cell.server_ms_per_request:5.2f} ms/req)"
        f"  client CPU {cell.client_cpu:4.0%}" + (f"  ERRORS {cell.errors}" if cell.errors else ""),
        flush=True,
    )


def print_table(cells: Sequence[Cell], targets: Sequence[str], concurrencies: Sequence[int]) -> None:
    def median(target: str, concurrency: int, metric: str) -> float:
        values = [_metric(c, metric) for c in cells if c.target == target and c.concurrency == concurrency]
        return statistics.median(values) if values else float("nan")

    print("\nMedians over rounds")
    width = max(len(target) for target in targets)
    print(f"{'target':<{width}} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server ms/req':>14}")
    for concurrency in concurrencies:
        for target in targets:
            print(
                f"{target:<{width}} {concurrency:>4} {median(target, concurrency, 'rps'):>9.1f}"
                f" {median(target, concurrency, 'p50'):>8.2f} {median(target, concurrency, 'p99'):>8.2f}"
                f" {median(target, concurrency, 'cpu'):>14.2f}"
            )
    pairs = [("gateway", "floor")] + [(target, "gateway") for target in targets if target not in ("gateway", "floor")]
    for numerator, denominator in pairs:
        print(f"\n{numerator} / {denominator}")
        print(f"{'conc':>4} {'req/s':>7} {'p50':>7} {'server ms/req':>14}")
        for concurrency in concurrencies:
            ratios = [
                median(numerator, concurrency, metric) / median(denominator, concurrency, metric)
                for metric in ("rps", "p50", "cpu")
            ]
            print(f"{concurrency:>4} {ratios[0]:>7.3f} {ratios[1]:>7.2f} {ratios[2]:>14.2f}")


def _metric(cell: Cell, metric: str) -> float:
    if metric == "rps":
        return cell.rps
    if metric == "p50":
        return cell.percentile(50)
    if metric == "p99":
        return cell.percentile(99)
    return cell.server_ms_per_request


def describe_environment() -> str:
    versions = []
    for package in ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "sqlalchemy", "aiosqlite"):
        with suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return f"gateway at {commit or 'unknown commit'}; Python {platform.python_version()}; " + ", ".join(versions)


def find_py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def profile(server: Server, body: bytes, concurrency: int, seconds: float, output: Path) -> bool:
    """py-spy a server while loading it; True when the collapsed stacks were written to `output`."""
    # --gil: only samples of a thread holding the GIL, i.e. running Python (or C called from it). Without it
    # py-spy counts aiosqlite's worker threads blocked in SimpleQueue.get() as busy.
    py_spy = find_py_spy()
    if py_spy is None:
        print("\nprofile skipped: py-spy not found (pip install py-spy)")
        return False
    command = [py_spy, "record", "--pid", str(server.pid), "--duration", str(int(seconds)), "--rate", "200"]
    command += ["--format", "raw", "--threads", "--nonblocking", "--gil", "--output", str(output)]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        await asyncio.sleep(0.5)  # let py-spy attach
        cell = await load(server, body, concurrency, seconds)
        _, stderr = await asyncio.wait_for(spy.communicate(), timeout=seconds + 30)
    finally:
        if spy.returncode is None:
            spy.kill()
            await spy.wait()
    print(f"\nProfile of the {server.name} at c={concurrency} for {seconds:.0f} s ({cell.rps:.1f} req/s) -> {output}")
    if spy.returncode != 0:
        print(f"  py-spy failed ({spy.returncode}): {stderr.decode(errors='replace')[-500:]}")
        return False
    return True


# ---------------------------------------------------------------- main


async def measure(
    servers: Sequence[Server], body: bytes, args: argparse.Namespace, concurrencies: list[int]
) -> list[Cell]:
    print(f"\nWarm-up: {args.warmup:.0f} s per server", flush=True)
    for server in servers:
        await load(server, body, max(concurrencies), args.warmup)
    cells: list[Cell] = []
    print(f"Measuring: {args.rounds} round(s) x {args.duration:.0f} s per cell, interleaved", flush=True)
    for round_number in range(1, args.rounds + 1):
        for concurrency in concurrencies:
            # Rotate which target goes first, so a drift in machine speed does not favour one.
            shift = (round_number - 1) % len(servers)
            for server in [*servers[shift:], *servers[:shift]]:
                cell = await load(server, body, concurrency, args.duration)
                cells.append(cell)
                print_cell(round_number, cell, max(len(server.name) for server in servers))
    return cells


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=int, default=50, help="page size (default 50)")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated connection counts (default 1,16)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell (default 3)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per cell (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument(
        "--candidate",
        type=Path,
        action="append",
        default=[],
        help="also serve the gateway of this checkout, named after its folder (repeatable; A/B of a change)",
    )
    parser.add_argument("--profile", type=Path, default=None, help="also py-spy a server into this file")
    parser.add_argument("--profile-target", default="gateway", help="gateway, floor or a candidate's name")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument("--profile-concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 120 or not all(1 <= c <= 256 for c in concurrencies):
        parser.error("rounds must be 1..20, duration 0..120 s, concurrency 1..256")
    if not 1 <= args.first <= 500:
        parser.error("first must be 1..500 (the gateway's max page size)")
    if not 0 < args.profile_seconds <= 120:
        parser.error("profile-seconds must be 0..120")
    candidates: dict[str, Path] = {}
    for path in args.candidate:
        if not (path / "server.py").is_file():
            parser.error(f"{path} has no server.py")
        name = path.resolve().name
        while name in ("gateway", "floor", *candidates):
            name += "'"
        candidates[name] = path.resolve()
    if args.profile_target not in ("gateway", "floor", *candidates):
        parser.error(f"--profile-target must be gateway, floor or one of {sorted(candidates)}")

    # SIGTERM unwinds like Ctrl-C, so the servers are terminated on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(describe_environment())
    pin = pinning_works()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(
        f"servers on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}"
        if pin
        else "CPU pinning unavailable: servers and load generator share the CPUs"
    )
    body = json.dumps({"query": DASHBOARD_QUERY, "variables": {"first": args.first}}).encode()

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{workdir / 'cache.sqlite3'}"
        started = time.monotonic()
        gateway = stack.enter_context(running_server("gateway", "gateway", database_url, workdir, pin))
        loaded = time.monotonic() - started
        print(f"gateway   pid {gateway.pid} on port {gateway.port}: started with the demo network in {loaded:.1f} s")
        servers = [gateway, stack.enter_context(running_server("floor", "floor", database_url, workdir, pin))]
        for name, repo in candidates.items():
            servers.append(stack.enter_context(running_server(name, "gateway", database_url, workdir, pin, repo=repo)))
        for server in servers[1:]:
            print(f"{server.name:<9} pid {server.pid} on port {server.port}")
        print(f"Checking the answers to the dashboard query (first={args.first}):")
        compare_answers(gateway, servers[1:], body)

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            cells = runner.run(measure(servers, body, args, concurrencies))
            print_table(cells, [server.name for server in servers], concurrencies)
            if args.profile is not None:
                target = next(server for server in servers if server.name == args.profile_target)
                recorded = runner.run(
                    profile(target, body, args.profile_concurrency, args.profile_seconds, args.profile)
                )
                if recorded and args.profile.exists():
                    print(summarize_collapsed(args.profile.read_text(), samples="samples holding the GIL"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
