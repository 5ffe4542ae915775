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
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import uvloop

from bench.load import Cell, load
from bench.pyspy import summarize_collapsed
from bench.queries import DASHBOARD_QUERY
from bench.report import compare_answers, describe_environment, print_cell, print_table
from bench.servers import CLIENT_CPU, SERVER_CPU, Server, pinning_works, running_server


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
