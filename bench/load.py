"""The load generator: raw HTTP/1.1 keep-alive connections, latency per request."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.servers import Server

MAX_REQUESTS_PER_CELL = 500_000
REQUEST_TIMEOUT_S = 30.0


def request_bytes(port: int, body: bytes, token: str = "") -> bytes:
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{authorization}Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
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
    request = request_bytes(server.port, body, server.token)
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
