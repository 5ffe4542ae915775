"""updateCustomer to six slow locations against the same write to one: parallel fan-out costs one wait, not six."""

from __future__ import annotations

import asyncio
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.dashboard import find_py_spy
from bench.writes_calls import call

UPDATE_CUSTOMER = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    outcomes { locationId status code }
    errors { code }
  }
}
"""


def key(global_id: str) -> str:
    return global_id.split(":", 1)[-1]


@dataclass
class Target:
    name: str
    customer_id: str
    expected_locations: tuple[str, ...]
    problems: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    cpu_ms: list[float] = field(default_factory=list)  # the gateway's CPU per timed call
    system_ms: list[float] = field(default_factory=list)  # the part of it in the kernel (sockets, mostly)

    def body(self) -> dict[str, Any]:
        key = uuid.uuid4().hex
        variables = {
            "idempotencyKey": key,  # a new write every time, never an idempotent replay
            "customerId": f"Customer:{self.customer_id}",
            "email": f"bench.{key[:12]}@example.com",
        }
        return {"query": UPDATE_CUSTOMER, "variables": {"input": variables}}

    def check(self, answer: dict[str, Any] | None, failure: str | None) -> None:
        """Counts any call that did not reach every expected location."""
        self.calls += 1
        if answer is None:
            self.problems[failure or "no answer"] += 1
            return
        if "errors" in answer:
            self.problems["GraphQL error"] += 1
            return
        payload = answer["data"]["updateCustomer"]
        reached = sorted(key(o["locationId"]) for o in payload["outcomes"] if o["status"] == "DELIVERED")
        if payload["errors"] or reached != sorted(self.expected_locations):
            statuses = ", ".join(f"{key(o['locationId'])}={o['status']}" for o in payload["outcomes"])
            self.problems[f"delivered to {len(reached)}/{len(self.expected_locations)} ({statuses})"] += 1


@dataclass(frozen=True)
class FanOutRound:
    number: int
    fan_out_ms: list[float]
    single_ms: list[float]

    @property
    def fan_out_median(self) -> float:
        return statistics.median(self.fan_out_ms)

    @property
    def single_median(self) -> float:
        return statistics.median(self.single_ms)


@dataclass(frozen=True)
class FanOutResult:
    rounds: list[FanOutRound]
    targets: tuple[Target, Target]

    @property
    def fan_out_ms(self) -> float:
        return statistics.median(r.fan_out_median for r in self.rounds)

    @property
    def single_ms(self) -> float:
        return statistics.median(r.single_median for r in self.rounds)

    @property
    def ratio(self) -> float:
        return self.fan_out_ms / self.single_ms

    def cpu_ms(self, target: int) -> float:
        """Mean gateway CPU (its simulated locations included) per timed call of a target (0 fan-out, 1 single).

        A mean, not a median: /proc counts CPU in ticks of 10 ms, finer than one call only on average."""
        return statistics.fmean(self.targets[target].cpu_ms)

    def system_ms(self, target: int) -> float:
        return statistics.fmean(self.targets[target].system_ms)


async def set_latency(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/bench/latency", json={"seconds": seconds})
    response.raise_for_status()


async def measure_fan_out(
    client: httpx.AsyncClient,
    fan_out: Target,
    single: Target,
    rounds: int,
    calls_per_round: int,
    latency_s: float,
    cpu_seconds: Callable[[], tuple[float, float]],
) -> FanOutResult:
    """One call at a time, fan-out and single alternating, so both see the same machine."""
    await set_latency(client, latency_s)
    try:
        for target in (fan_out, single):  # warm-up: sessions and tokens at every location, not timed
            _, answer, failure = await call(client, target.body())
            target.check(answer, failure)
        results = []
        for number in range(1, rounds + 1):
            timings: dict[str, list[float]] = {fan_out.name: [], single.name: []}
            for index in range(2 * calls_per_round):
                target = (fan_out, single)[(index + number) % 2]  # who goes first alternates by round
                user_before, system_before = cpu_seconds()
                elapsed, answer, failure = await call(client, target.body())
                user_after, system_after = cpu_seconds()
                target.cpu_ms.append(1000 * (user_after - user_before + system_after - system_before))
                target.system_ms.append(1000 * (system_after - system_before))
                target.check(answer, failure)
                timings[target.name].append(elapsed)
            result = FanOutRound(number, timings[fan_out.name], timings[single.name])
            print(
                f"  round {number}  {fan_out.name}: median {result.fan_out_median:7.1f} ms"
                f" (min {min(result.fan_out_ms):6.1f}, max {max(result.fan_out_ms):6.1f})"
                f"   {single.name}: median {result.single_median:7.1f} ms"
                f" (min {min(result.single_ms):6.1f}, max {max(result.single_ms):6.1f})"
                f"   ratio {result.fan_out_median / result.single_median:5.2f}",
                flush=True,
            )
            results.append(result)
    finally:
        await set_latency(client, 0.0)
    return FanOutResult(results, (fan_out, single))


async def profile_target(
    client: httpx.AsyncClient, pid: int, target: Target, calls: int, latency_s: float, output: Path
) -> bool:
    """py-spy the gateway (--gil: samples of Python running, not of the loop waiting) over `calls` calls of one
    target in a row; True when the collapsed stacks were written to `output`."""
    py_spy = find_py_spy()
    if py_spy is None:
        print("  profile skipped: py-spy not found (pip install py-spy)")
        return False
    command = [py_spy, "record", "--pid", str(pid), "--rate", "1000", "--format", "raw", "--threads"]
    command += ["--nonblocking", "--gil", "--output", str(output)]
    await set_latency(client, latency_s)
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        await asyncio.sleep(1.0)  # let py-spy attach
        for _ in range(calls):
            _, answer, failure = await call(client, target.body())
            target.check(answer, failure)
        await asyncio.sleep(0.2)
        spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        _, stderr = await asyncio.wait_for(spy.communicate(), timeout=30)
    finally:
        if spy.returncode is None:
            spy.kill()
            await spy.wait()
        await set_latency(client, 0.0)
    if spy.returncode != 0:
        print(f"  py-spy failed ({spy.returncode}): {stderr.decode(errors='replace')[-500:]}")
        return False
    return True
