"""The gateway for bench.isolation, with or without its heavy-operation gate (schema/heavy_gate.py).

python -m bench.isolation_serve --database-url sqlite+aiosqlite:///... --port 8123 --cpu 0 --gate-cost 10000

As bench.serve's gateway with GATEWAY_HEAVY_QUERY_COST set to --gate-cost (0: no gate), plus GET /bench/gc:
the garbage collector's pauses so far, per generation.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bench.serve import build_app
from bench.servers import REPO, SERVER_CPU, Server, bench_gateway_environment, free_port, wait_ready


class GcPauses:
    """gc.callbacks timing every collection: count, total and longest pause per generation."""

    def __init__(self) -> None:
        self.started = 0.0
        self.by_generation: dict[int, list[float]] = {0: [0, 0.0, 0.0], 1: [0, 0.0, 0.0], 2: [0, 0.0, 0.0]}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        elapsed = (time.perf_counter() - self.started) * 1000
        counts = self.by_generation[int(info["generation"])]
        counts[0] += 1
        counts[1] += elapsed
        counts[2] = max(counts[2], elapsed)

    async def endpoint(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {str(g): {"collections": c, "total_ms": t, "max_ms": m} for g, (c, t, m) in self.by_generation.items()}
        )


class WithGcRoute:
    def __init__(self, gateway: Starlette, pauses: GcPauses) -> None:
        self.gateway = gateway
        self.controls = Starlette(routes=[Route("/bench/gc", pauses.endpoint, methods=["GET"])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/bench/"):
            await self.controls(scope, receive, send)
        else:
            await self.gateway(scope, receive, send)


@contextmanager
def running_gateway(name: str, database_url: str, workdir: Path, pin: bool, gate_cost: int) -> Iterator[Server]:
    """This module's gateway as a uvicorn process (pinned when `pin`), gated when `gate_cost` > 0."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [sys.executable, "-m", "bench.isolation_serve", "--database-url", database_url, "--port", str(port)]
    command += ["--gate-cost", str(gate_cost)] + (["--cpu", str(SERVER_CPU)] if pin else [])
    credentials = workdir / f"{name}-credentials.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), **bench_gateway_environment(credentials)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(name, port, process, log_path, credentials)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin the process (and its threads) to this core")
    parser.add_argument("--gate-cost", type=int, default=0, help="operations costing this or more take turns (0: off)")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})  # before any thread exists, so aiosqlite's threads inherit it
    # The gateway's own gate (settings.heavy_query_cost, schema/heavy_gate.py); 0 serves it without one.
    os.environ["GATEWAY_HEAVY_QUERY_COST"] = str(args.gate_cost)
    gateway = build_app("gateway", args.database_url)
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    uvicorn.run(
        WithGcRoute(gateway, pauses),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
