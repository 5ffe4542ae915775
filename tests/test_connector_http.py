"""The HTTP client every connector talks through: retries, Retry-After, circuit breaker,
single-flight GETs, and errors that never leak httpx.

Edge cases run against `httpx.MockTransport` with an injected clock and sleep (no real
waiting); the rest against a real Starlette app served on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devnet.simulators.server import SimulatedLocation
from sources.connectors.base import ConnectorConfig
from sources.connectors.breaker import BreakerState, CircuitBreaker
from sources.connectors.errors import CircuitOpen, LocationUnavailable
from sources.connectors.http import LocationHttpClient
from sources.connectors.resilience import backoff_delay, is_idempotent, retry_after_seconds

CONFIG = ConnectorConfig(
    location_id="loc-a",
    kind="bookingx",
    base_url="http://loc-a.test",
    timeout_seconds=2.0,
    max_attempts=3,
    backoff_base_seconds=0.05,
    backoff_max_seconds=2.0,
    retry_after_max_seconds=5.0,
    breaker_failure_threshold=3,
    breaker_reset_seconds=10.0,
)

Reply = httpx.Response | Exception


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeps:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Upstream:
    """A scripted location: answers from `script` in order, then `default`; records every request."""

    script: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: httpx.Response(200, json={"ok": True}))
    gate: asyncio.Event | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        reply = self.script.pop(0) if self.script else self.default
        if isinstance(reply, Exception):
            raise reply
        return reply


@dataclass
class Harness:
    client: LocationHttpClient
    upstream: Upstream
    clock: FakeClock
    sleeps: Sleeps
    outcomes: list[bool]


def harness(upstream: Upstream, config: ConnectorConfig = CONFIG) -> Harness:
    clock, sleeps, outcomes = FakeClock(), Sleeps(), list[bool]()
    client = LocationHttpClient(
        config,
        transport=httpx.MockTransport(upstream),
        clock=clock,
        sleep=sleeps,
        on_outcome=outcomes.append,
    )
    return Harness(client, upstream, clock, sleeps, outcomes)


def unavailable(status: int = 503, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": "busy"}, headers=headers)


# --- retries -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_is_retried_on_503_until_it_succeeds() -> None:
    h = harness(Upstream(script=[unavailable(), unavailable()], default=httpx.Response(200, json={"n": 1})))

    assert await h.client.get_json("/services") == {"n": 1}

    assert len(h.upstream.requests) == 3
    assert len(h.sleeps.waits) == 2
    assert 0 <= h.sleeps.waits[0] <= 0.05 and 0 <= h.sleeps.waits[1] <= 0.1
    assert h.outcomes == [True]


@pytest.mark.asyncio
async def test_get_gives_up_after_max_attempts_with_the_last_reason() -> None:
    h = harness(Upstream(default=unavailable(502)))

    with pytest.raises(LocationUnavailable) as raised:
        await h.client.get_json("/services")

    assert raised.value.message == "GET /services: HTTP 502 (gave up after 3 attempts)"
    assert len(h.upstream.requests) == 3
    assert h.outcomes == [False]


@pytest.mark.asyncio
async def test_429_is_retried_like_a_5xx() -> None:
    h = harness(Upstream(script=[unavailable(429)]))

    assert (await h.client.request("GET", "/services")).status_code == 200
    assert len(h.upstream.requests) == 2


@pytest.mark.asyncio
async def test_post_without_idempotency_key_is_tried_once() -> None:
    h = harness(Upstream(script=[unavailable()]))

    with pytest.raises(LocationUnavailable, match=r"POST /bookings: HTTP 503$"):
        await h.client.request("POST", "/bookings", json={"slot": "x"})

    assert len(h.upstream.requests) == 1
    assert h.sleeps.waits == []


@pytest.mark.asyncio
async def test_post_carrying_an_idempotency_key_is_retried() -> None:
    h = harness(Upstream(script=[unavailable(), httpx.ConnectError("refused")], default=httpx.Response(201)))

    response = await h.client.request("POST", "/bookings", json={"slot": "x"}, headers={"idempotency-key": "k1"})

    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in h.upstream.requests] == ["k1", "k1", "k1"]


@pytest.mark.asyncio
async def test_4xx_answer_is_returned_at_once_and_counts_as_success() -> None:
    h = harness(Upstream(default=httpx.Response(404, json={"code": "NOT_FOUND"})))

    response = await h.client.request("GET", "/bookings/9")

    assert response.status_code == 404
    assert len(h.upstream.requests) == 1
    assert h.outcomes == [True]


@pytest.mark.asyncio
async def test_retry_after_seconds_is_waited_instead_of_the_backoff() -> None:
    h = harness(Upstream(script=[unavailable(503, **{"Retry-After": "3"})]))

    await h.client.get_json("/services")

    assert h.sleeps.waits == [3.0]
    assert len(h.upstream.requests) == 2


@pytest.mark.asyncio
async def test_retry_after_http_date_is_waited() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    h = harness(Upstream(script=[unavailable(429, **{"Retry-After": when})]))

    await h.client.get_json("/services")

    assert len(h.sleeps.waits) == 1
    assert 2.0 < h.sleeps.waits[0] <= 4.0  # the date has whole-second precision


@pytest.mark.asyncio
async def test_retry_after_beyond_patience_fails_fast_and_says_why() -> None:
    h = harness(Upstream(script=[unavailable(503, **{"Retry-After": "120"})]))

    with pytest.raises(LocationUnavailable) as raised:
        await h.client.get_json("/services")

    assert raised.value.message == ("GET /services: HTTP 503, asked to retry after 120 s, longer than the 5 s we wait")
    assert len(h.upstream.requests) == 1
    assert h.sleeps.waits == []


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    highest = [backoff_delay(n, 0.05, 1.0, random=lambda: 1.0) for n in range(7)]
    assert highest == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff_delay(3, 0.05, 1.0, random=lambda: 0.0) == 0.0
    rng = random.Random(3)
    spread = {round(backoff_delay(4, 0.05, 1.0, random=rng.random), 3) for _ in range(50)}
    assert len(spread) > 40 and all(0 <= d <= 0.8 for d in spread)


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(" 0 ", now) == 0.0
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds(None, now) is None


def test_idempotency_follows_method_or_key() -> None:
    assert is_idempotent("get", None) and is_idempotent("DELETE", {})
    assert not is_idempotent("POST", {"Content-Type": "application/json"})
    assert is_idempotent("PATCH", {"Idempotency-Key": "k"})


# --- circuit breaker -----------------------------------------------------------------


async def fail_calls(h: Harness, count: int) -> None:
    for _ in range(count):
        with pytest.raises(LocationUnavailable):
            await h.client.get_json("/services")


@pytest.mark.asyncio
async def test_breaker_opens_after_threshold_failed_calls_and_then_short_circuits() -> None:
    h = harness(Upstream(default=unavailable()), replace(CONFIG, max_attempts=2))

    await fail_calls(h, 2)
    assert h.client.breaker_state == "closed"
    await fail_calls(h, 1)
    assert h.client.breaker_state == "open"
    seen = len(h.upstream.requests)
    assert seen == 6  # 3 calls x 2 attempts: the breaker counts calls, not attempts

    with pytest.raises(CircuitOpen, match=r"circuit open after 3 consecutive failures, next probe in 10\.0 s"):
        await h.client.get_json("/services")
    with pytest.raises(CircuitOpen):
        await h.client.request("POST", "/bookings", json={})
    assert len(h.upstream.requests) == seen
    assert h.outcomes == [False, False, False]


@pytest.mark.asyncio
async def test_breaker_half_opens_after_reset_and_closes_on_a_successful_probe() -> None:
    upstream = Upstream(default=unavailable())
    h = harness(upstream, replace(CONFIG, max_attempts=1))
    await fail_calls(h, 3)

    h.clock.now += 9.9
    assert h.client.breaker_state == "open"
    h.clock.now += 0.1
    assert h.client.breaker_state == "half_open"

    upstream.default = httpx.Response(200, json=[])
    assert await h.client.get_json("/services") == []
    assert h.client.breaker_state == "closed"
    assert len(upstream.requests) == 4


@pytest.mark.asyncio
async def test_failed_probe_reopens_the_breaker_for_another_cool_down() -> None:
    h = harness(Upstream(default=unavailable()), replace(CONFIG, max_attempts=1))
    await fail_calls(h, 3)
    h.clock.now += 10

    await fail_calls(h, 1)

    assert h.client.breaker_state == "open"
    assert len(h.upstream.requests) == 4
    h.clock.now += 5
    with pytest.raises(CircuitOpen, match=r"next probe in 5\.0 s"):
        await h.client.get_json("/services")


@pytest.mark.asyncio
async def test_half_open_breaker_lets_one_probe_through_at_a_time() -> None:
    upstream = Upstream(default=unavailable())
    h = harness(upstream, replace(CONFIG, max_attempts=1))
    await fail_calls(h, 3)
    h.clock.now += 10
    upstream.default = httpx.Response(200, json={})
    upstream.gate = asyncio.Event()

    upstream.arrived.clear()
    probe = asyncio.create_task(h.client.get_json("/services"))
    await upstream.arrived.wait()
    with pytest.raises(CircuitOpen, match="probe call is already in flight"):
        await h.client.get_json("/customers")
    upstream.gate.set()

    assert await probe == {}
    assert h.client.breaker_state == "closed"


@pytest.mark.asyncio
async def test_4xx_answers_never_open_the_breaker() -> None:
    h = harness(Upstream(default=httpx.Response(409, json={"code": "CONFLICT"})))

    for _ in range(10):
        assert (await h.client.request("POST", "/bookings", json={})).status_code == 409

    assert h.client.breaker_state == "closed"


def test_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker(3, 10.0, clock=FakeClock())
    for outcome in (False, False, True, False, False):
        assert breaker.try_acquire()
        breaker.record_success() if outcome else breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_cancelled_probe_hands_the_probe_slot_back() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10.0, clock=clock)
    assert breaker.try_acquire()
    breaker.record_failure()
    clock.now += 10
    assert breaker.try_acquire()
    assert not breaker.try_acquire()

    breaker.release()

    assert breaker.try_acquire()


# --- single-flight -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_identical_gets_share_one_failure_and_one_breaker_count() -> None:
    gate = asyncio.Event()
    upstream = Upstream(default=unavailable(), gate=gate)
    h = harness(upstream, replace(CONFIG, max_attempts=1))

    calls = [asyncio.create_task(h.client.get_json("/services", params={"a": 1})) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert len(upstream.requests) == 1
    assert all(isinstance(r, LocationUnavailable) for r in results)
    assert h.outcomes == [False]


@pytest.mark.asyncio
async def test_different_params_or_headers_are_not_shared_and_finished_calls_are_not_cached() -> None:
    gate = asyncio.Event()
    upstream = Upstream(gate=gate)
    h = harness(upstream)

    calls = [
        asyncio.create_task(h.client.get_json("/services", params={"a": 1}, headers={"X-A": "1"})),
        asyncio.create_task(h.client.get_json("/services", params={"a": 1}, headers={"x-a": "1"})),
        asyncio.create_task(h.client.get_json("/services", params={"a": 2}, headers={"X-A": "1"})),
        asyncio.create_task(h.client.get_json("/services", params={"a": 1})),
    ]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*calls)
    assert len(upstream.requests) == 3

    await h.client.get_json("/services", params={"a": 1})
    assert len(upstream.requests) == 4


@pytest.mark.asyncio
async def test_a_cancelled_caller_does_not_cancel_the_shared_get_for_the_others() -> None:
    gate = asyncio.Event()
    upstream = Upstream(gate=gate, default=httpx.Response(200, json={"n": 2}))
    h = harness(upstream)

    first = asyncio.create_task(h.client.get_json("/services"))
    second = asyncio.create_task(h.client.get_json("/services"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    gate.set()

    assert await second == {"n": 2}
    assert first.cancelled()
    assert len(upstream.requests) == 1


# --- errors never leak httpx ---------------------------------------------------------


@pytest.mark.asyncio
async def test_timeout_becomes_location_unavailable_naming_the_limit() -> None:
    h = harness(Upstream(default=httpx.ReadTimeout("read timed out")), replace(CONFIG, max_attempts=1))

    with pytest.raises(LocationUnavailable) as raised:
        await h.client.get_json("/x")

    assert raised.value.message == "GET /x: timed out after 2.0 s waiting for the answer"


@pytest.mark.asyncio
async def test_broken_connection_is_retried_and_reported_plainly() -> None:
    h = harness(Upstream(default=httpx.RemoteProtocolError("Server disconnected without sending a response.")))

    with pytest.raises(LocationUnavailable, match=r"broke off the answer .* \(gave up after 3 attempts\)"):
        await h.client.get_json("/x")


@pytest.mark.asyncio
async def test_non_json_body_is_location_unavailable() -> None:
    h = harness(Upstream(default=httpx.Response(200, text="<html>maintenance</html>")))

    with pytest.raises(LocationUnavailable, match="GET /x: answered with something that is not JSON"):
        await h.client.get_json("/x")


@pytest.mark.asyncio
async def test_unsupported_url_scheme_fails_once_without_leaking_httpx() -> None:
    client = LocationHttpClient(replace(CONFIG, base_url="ftp://loc-a.test"), sleep=Sleeps())

    with pytest.raises(LocationUnavailable, match="GET /x: request failed") as raised:
        await client.get_json("/x")

    assert not isinstance(raised.value, httpx.HTTPError)
    await client.aclose()


# --- against a real server on 127.0.0.1 ----------------------------------------------


async def services(request: Request) -> Response:
    return JSONResponse([{"id": "s1", "name": "Cut"}])


async def text(request: Request) -> Response:
    return PlainTextResponse("not json")


@pytest_asyncio.fixture
async def location() -> AsyncIterator[SimulatedLocation]:
    app = Starlette(routes=[Route("/services", services), Route("/text", text)])
    simulated = SimulatedLocation("loc-real", app)
    await simulated.start()
    try:
        yield simulated
    finally:
        await simulated.stop()


def real_client(
    location: SimulatedLocation, *, timeout_seconds: float = 2.0, max_attempts: int = 3
) -> tuple[LocationHttpClient, Sleeps]:
    sleeps = Sleeps()
    config = replace(
        CONFIG,
        location_id=location.location_id,
        base_url=location.url,
        timeout_seconds=timeout_seconds,
        max_attempts=max_attempts,
    )
    return LocationHttpClient(config, sleep=sleeps), sleeps


@pytest.mark.asyncio
async def test_ten_concurrent_identical_gets_reach_a_real_location_once(location: SimulatedLocation) -> None:
    location.controls.latency_seconds = 0.2
    client, _ = real_client(location)

    results = await asyncio.gather(*(client.get_json("/services") for _ in range(10)))

    assert results == [[{"id": "s1", "name": "Cut"}]] * 10
    assert location.controls.requests_seen == 1
    await client.get_json("/services")
    assert location.controls.requests_seen == 2
    await client.aclose()


@pytest.mark.asyncio
async def test_slow_real_location_times_out(location: SimulatedLocation) -> None:
    location.controls.latency_seconds = 0.5
    client, _ = real_client(location, timeout_seconds=0.1, max_attempts=1)

    with pytest.raises(LocationUnavailable, match=r"GET /services: timed out after 0.1 s waiting for the answer"):
        await client.get_json("/services")
    await client.aclose()


@pytest.mark.asyncio
async def test_failing_real_location_is_retried_through(location: SimulatedLocation) -> None:
    location.controls.failure_rate = 0.5
    location.controls.rng = random.Random(1)
    client, sleeps = real_client(location, max_attempts=5)

    for _ in range(5):
        assert await client.get_json("/services") == [{"id": "s1", "name": "Cut"}]

    assert location.controls.requests_seen > 5
    assert len(sleeps.waits) == location.controls.requests_seen - 5
    await client.aclose()


@pytest.mark.asyncio
async def test_stopped_location_is_refused_opens_the_breaker_and_recovers_after_restart(
    location: SimulatedLocation,
) -> None:
    clock, outcomes = FakeClock(), list[bool]()
    config = replace(CONFIG, base_url=location.url, breaker_failure_threshold=2)
    client = LocationHttpClient(config, clock=clock, sleep=Sleeps(), on_outcome=outcomes.append)
    assert await client.get_json("/services")
    with pytest.raises(LocationUnavailable, match="GET /text: answered with something that is not JSON"):
        await client.get_json("/text")
    await location.stop()

    for _ in range(2):
        with pytest.raises(LocationUnavailable, match=r"GET /services: connection refused \(gave up after 3"):
            await client.get_json("/services")
    assert client.breaker_state == "open"
    with pytest.raises(CircuitOpen):
        await client.get_json("/services")

    await location.start()
    clock.now += CONFIG.breaker_reset_seconds
    assert await client.get_json("/services") == [{"id": "s1", "name": "Cut"}]
    assert client.breaker_state == "closed"
    assert outcomes == [True, True, False, False, True]
    await client.aclose()
