"""Checking that servers answer alike, and printing the figures."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.load import REQUEST_TIMEOUT_S, Cell
from bench.servers import REPO, Server


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
            server.name: client.post(
                f"http://127.0.0.1:{server.port}/graphql", content=body, headers={**headers, **server.headers}
            )
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
        # `data` and `errors` only: `extensions.freshness` is the gateway's report on this very request (its
        # times differ on every answer) and the floor has none.
        answer = answers[server.name].json()
        difference = first_difference(
            {key: expected.get(key) for key in ("data", "errors")}, {key: answer.get(key) for key in ("data", "errors")}
        )
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


def print_table(
    cells: Sequence[Cell],
    targets: Sequence[str],
    concurrencies: Sequence[int],
    ratios: Sequence[tuple[str, str]] = (("gateway", "floor"),),
) -> None:
    """Medians over the rounds per target and concurrency, then each (numerator, denominator) ratio."""

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
    for numerator, denominator in ratios:
        print(f"\n{numerator} / {denominator}")
        print(f"{'conc':>4} {'req/s':>7} {'p50':>7} {'server ms/req':>14}")
        for concurrency in concurrencies:
            values = [
                median(numerator, concurrency, metric) / median(denominator, concurrency, metric)
                for metric in ("rps", "p50", "cpu")
            ]
            print(f"{concurrency:>4} {values[0]:>7.3f} {values[1]:>7.2f} {values[2]:>14.2f}")


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


def describe_peer(peer_dir: Path) -> str:
    """Node's version and the peer's pinned dependencies (bench/peer/package.json)."""
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        node = "unknown"
    dependencies = json.loads((peer_dir / "package.json").read_text()).get("dependencies", {})
    return f"peer: Node {node}; " + ", ".join(f"{name} {version}" for name, version in dependencies.items())
