"""Dashboard query: the gateway against the Node peer and a hand-written floor, same data, same 7 statements.

    .venv/bin/python -m bench.dashboard                  # ~3 minutes (plus ~1 minute the first time: npm ci)
    .venv/bin/python -m bench.dashboard --rounds 1 --duration 3 --profile /tmp/gateway.txt
    .venv/bin/python -m bench.dashboard --candidate /tmp/scratch   # also the gateway of another checkout
    .venv/bin/python -m bench.dashboard --variant ordinary:GATEWAY_COMPILED_READS=false
    .venv/bin/python -m bench.dashboard --backend postgresql       # gateway and floor (the peer is SQLite-only)

Targets: the gateway, the floor (bench/floor.py), the peer (bench/peer/: Apollo Server 5 + DataLoader over
better-sqlite3, installed by bench/peer/install.sh), candidates and variants. The Python servers are uvicorn
processes (uvloop, httptools, one worker), the peer one Node process; all pinned to core 0. This process
generates load over raw HTTP/1.1 keep-alive connections, pinned to core 1.
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
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvloop

from bench.load import Cell, load
from bench.pyspy import summarize_collapsed
from bench.queries import DASHBOARD_QUERY
from bench.report import compare_answers, describe_environment, describe_peer, print_cell, print_table
from bench.servers import (
    CLIENT_CPU,
    PEER_DIR,
    SERVER_CPU,
    Server,
    install_peer,
    pinning_works,
    running_peer,
    running_server,
)
from bench.writes_setup import ThrowawayPostgres, postgres_reachable

BACKENDS = ("sqlite", "postgresql")
BUILT_IN_TARGETS = ("gateway", "floor", "peer")


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


@dataclass(frozen=True)
class Variant:
    """The gateway served with extra environment variables (its settings), measured as one more target."""

    name: str
    env: dict[str, str]


def parse_variant(text: str) -> Variant:
    """`name:ENV=VAL[,ENV=VAL]` (values cannot contain commas)."""
    name, colon, assignments = text.partition(":")
    if not colon or not name.strip() or not assignments.strip():
        raise ValueError(f"{text!r}: expected name:ENV=VAL[,ENV=VAL]")
    env: dict[str, str] = {}
    for assignment in assignments.split(","):
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{text!r}: {assignment!r} is not ENV=VAL")
        env[key.strip()] = value
    return Variant(name.strip(), env)


@dataclass(frozen=True)
class Targets:
    candidates: dict[str, Path]
    variants: list[Variant]

    @property
    def names(self) -> list[str]:
        return [*BUILT_IN_TARGETS, *self.candidates, *(variant.name for variant in self.variants)]


def ratios_to_print(backend: str, targets: Targets) -> list[tuple[str, str]]:
    """Which ratios the table ends with: to the peer on SQLite, to the floor where there is no peer."""
    reference = "peer" if backend == "sqlite" else "floor"
    pairs = (
        [("gateway", "peer"), ("gateway", "floor"), ("floor", "peer")]
        if backend == "sqlite"
        else [("gateway", "floor")]
    )
    pairs += [(name, "gateway") for name in targets.candidates]
    for variant in targets.variants:
        pairs += [(variant.name, reference), (variant.name, "gateway")]
    return pairs


@contextmanager
def cache_database(backend: str, workdir: Path) -> Iterator[str]:
    """An empty cache for one backend (the gateway's start-up migrates it and loads the demo network)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'cache.sqlite3'}"
        return
    database = ThrowawayPostgres()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def start_servers(
    stack: ExitStack, backend: str, database_url: str, workdir: Path, pin: bool, targets: Targets
) -> list[Server]:
    """The gateway first (it builds the cache), then every other target on the same cache."""
    started = time.monotonic()
    gateway = stack.enter_context(running_server("gateway", "gateway", database_url, workdir, pin))
    loaded = time.monotonic() - started
    print(f"gateway   pid {gateway.pid} on port {gateway.port}: started with the demo network in {loaded:.1f} s")
    servers = [gateway, stack.enter_context(running_server("floor", "floor", database_url, workdir, pin))]
    if backend == "sqlite":
        servers.append(stack.enter_context(running_peer("peer", workdir / "cache.sqlite3", workdir, pin)))
    else:
        print("peer      not run: it reads the SQLite cache file (better-sqlite3); on PostgreSQL only gateway/floor")
    for name, repo in targets.candidates.items():
        servers.append(stack.enter_context(running_server(name, "gateway", database_url, workdir, pin, repo=repo)))
    for variant in targets.variants:
        served = running_server(variant.name, "gateway", database_url, workdir, pin, extra_env=variant.env)
        servers.append(stack.enter_context(served))
    for server in servers[1:]:
        print(f"{server.name:<9} pid {server.pid} on port {server.port}")
    for variant in targets.variants:
        print(
            f"{variant.name:<9} = the gateway with {' '.join(f'{key}={value}' for key, value in variant.env.items())}"
        )
    return servers


def run_backend(
    backend: str,
    args: argparse.Namespace,
    targets: Targets,
    pin: bool,
    concurrencies: list[int],
    profile_file: Path | None,
) -> int:
    """Serve every target on one backend, check their answers, measure; 1 when the answers differ."""
    print(f"\n== {backend} ==")
    body = json.dumps({"query": DASHBOARD_QUERY, "variables": {"first": args.first}}).encode()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        database_url = stack.enter_context(cache_database(backend, workdir))
        servers = start_servers(stack, backend, database_url, workdir, pin, targets)
        print(f"Checking the answers to the dashboard query (first={args.first}):")
        if not compare_answers(servers[0], servers[1:], body):
            print("The answers differ: not measuring (a ratio between different answers means nothing).")
            return 1
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            cells = runner.run(measure(servers, body, args, concurrencies))
            print(f"\n[{backend}]", end="")
            print_table(cells, [server.name for server in servers], concurrencies, ratios_to_print(backend, targets))
            if profile_file is not None:
                target = next(server for server in servers if server.name == args.profile_target)
                recorded = runner.run(
                    profile(target, body, args.profile_concurrency, args.profile_seconds, profile_file)
                )
                if recorded and profile_file.exists():
                    print(summarize_collapsed(profile_file.read_text(), samples="samples holding the GIL"))
    return 0


def parse_arguments(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Targets, list[int]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first", type=int, default=50, help="page size (default 50)")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated connection counts (default 1,16)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell (default 3)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per cell (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument(
        "--backend",
        choices=[*BACKENDS, "both"],
        default="sqlite",
        help="sqlite (default: gateway, floor, peer), postgresql (a throwaway database: gateway, floor) or both",
    )
    parser.add_argument(
        "--candidate",
        type=Path,
        action="append",
        default=[],
        help="also serve the gateway of this checkout, named after its folder (repeatable; A/B of a change)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:ENV=VAL[,ENV=VAL]",
        help="also serve this checkout's gateway with these environment variables, as target NAME (repeatable)",
    )
    parser.add_argument("--profile", type=Path, default=None, help="also py-spy a server into this file")
    parser.add_argument("--profile-target", default="gateway", help="gateway, floor, a candidate's or a variant's name")
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
    targets = Targets({}, [])
    for path in args.candidate:
        if not (path / "server.py").is_file():
            parser.error(f"{path} has no server.py")
        name = path.resolve().name
        while name in targets.names:
            name += "'"
        targets.candidates[name] = path.resolve()
    for text in args.variant:
        try:
            variant = parse_variant(text)
        except ValueError as error:
            parser.error(f"--variant {error}")
        if variant.name in targets.names:
            parser.error(f"--variant name {variant.name!r} is taken (targets: {', '.join(targets.names)})")
        targets.variants.append(variant)
    if args.profile_target == "peer":
        parser.error("--profile-target peer: py-spy samples Python processes; the peer is Node")
    if args.profile_target not in targets.names:
        parser.error(f"--profile-target must be one of {', '.join(name for name in targets.names if name != 'peer')}")
    return args, targets, concurrencies


def profile_file_for(args: argparse.Namespace, backend: str, backends: Sequence[str]) -> Path | None:
    """--profile FILE, with the backend in its name when both backends run (one profile each)."""
    path: Path | None = args.profile
    if path is None or len(backends) == 1:
        return path
    return path.with_name(f"{path.stem}.{backend}{path.suffix}")


def main(argv: Sequence[str] | None = None) -> int:
    args, targets, concurrencies = parse_arguments(argv)
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    # SIGTERM unwinds like Ctrl-C, so the servers are terminated (and a throwaway database dropped) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(describe_environment())
    if "sqlite" in backends:
        started = time.monotonic()
        install_peer()  # npm ci the first time (better-sqlite3 is compiled: ~1 minute), else nothing
        print(f"{describe_peer(PEER_DIR)} (bench/peer/install.sh: {time.monotonic() - started:.1f} s)")
    if "postgresql" in backends and (problem := postgres_reachable()) is not None:
        print(f"PostgreSQL unreachable: {problem}")
        return 1
    pin = pinning_works()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    print(
        f"servers on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}"
        if pin
        else "CPU pinning unavailable: servers and load generator share the CPUs"
    )
    status = 0
    for backend in backends:
        status = max(
            status, run_backend(backend, args, targets, pin, concurrencies, profile_file_for(args, backend, backends))
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
