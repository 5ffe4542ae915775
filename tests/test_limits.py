"""No one request can hurt the others (issue 10 §4): the cost of an operation is limited before it runs, bodies
and WebSocket messages are bounded, batches are refused, the schema is not spelled out to a caller when
introspection is off, and every principal has its own rate limit."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, print_ast
from websockets.exceptions import ConnectionClosed
from ws_helpers import GraphQLSocket, OperationError

from bench.isolation import HEAVY
from bench.queries import DASHBOARD_QUERY
from conftest import RunningGateway, SqlStatementCounter, start_gateway, stop_gateway
from identity.principal import ANONYMOUS, Principal, Role, location_principal
from resolvers.rate_limit import PRUNE_ABOVE, TokenBuckets
from schema import build_schema
from schema.cost import UNPAGED_LIST_SIZE, CostModel, operation_cost
from settings import RateLimit, Settings
from shims.onebooking.push import SYNC_PATH

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = Settings()
MODEL = CostModel(default_page_size=DEFAULTS.default_page_size, max_page_size=DEFAULTS.max_page_size)
SCHEMA = build_schema()._schema
SALFORD = "salford-quays"


def _salford_key(gateway: RunningGateway) -> str:
    """The website's X-API-Key, as the demo wrote it to its credentials file."""
    return gateway.demo_credentials()[SALFORD]["inbound_api_key"]


THREE_LEVELS = """
{ customers(first: 500) { nodes { bookings(first: 500) { nodes { customer {
  bookings(first: 500) { nodes { id } } } } } } } }
"""
CUSTOMER_BOOKINGS = """
query($customers: Int, $bookings: Int = 5) {
  customers(first: $customers) { totalCount nodes { id bookings(first: $bookings) { nodes { id } } } }
}
"""
WITH_FRAGMENTS = """
query { customers(first: 10) { ...Page } }
fragment Page on CustomerConnection { nodes { id ... on Customer { bookings(first: 3) { nodes { id } } } } }
"""
INLINE = "query { customers(first: 10) { nodes { id bookings(first: 3) { nodes { id } } } } }"
UNPAGED = "query { bookings(first: 2) { nodes { revenueSplit { role } } } }"
INTROSPECTION = "{ __schema { types { name fields { name type { name ofType { name } } } } } __typename }"
TYPENAME = "{ __typename }"
UNKNOWN_FIELD = "{ bokings { totalCount } }"
ENTITIES = (
    "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Location { id name } } }"
)
FILTERED = "query($filter: BookingFilterInput) { bookings(first: 1, filter: $filter) { totalCount } }"
BAD_FILTER = {"filter": {"statuse": ["CONFIRMED"]}}


def _cost(document: str, variables: dict[str, Any] | None = None) -> int:
    return operation_cost(SCHEMA, parse(document), MODEL, variables=variables)


def _codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


# -- the cost of an operation -----------------------------------------------------------------


def test_a_page_multiplies_the_lists_under_it_and_counts_its_other_fields_once() -> None:
    # customers 1 + totalCount 1 + nodes (1 + 7 x (id 1 + bookings (1 + nodes (1 + 5 x id 1))))
    assert _cost(CUSTOMER_BOOKINGS, {"customers": 7}) == 1 + 1 + 1 + 7 * (1 + 1 + 1 + 5)


def test_page_sizes_come_from_variables_their_defaults_literals_or_the_default_page_size() -> None:
    absent = _cost(CUSTOMER_BOOKINGS)  # $customers unset: the default page size
    assert absent == 3 + DEFAULTS.default_page_size * 8
    assert _cost(CUSTOMER_BOOKINGS, {"customers": 7, "bookings": 2}) == 3 + 7 * (3 + 2)
    assert _cost(CUSTOMER_BOOKINGS, {"customers": None}) == absent
    # GraphQL's Int takes a whole float: so does the cost.
    assert _cost(CUSTOMER_BOOKINGS, {"customers": 7.0, "bookings": 2}) == 3 + 7 * (3 + 2)


def test_a_page_is_counted_at_most_at_the_largest_page_served() -> None:
    largest = _cost(CUSTOMER_BOOKINGS, {"customers": DEFAULTS.max_page_size})
    assert _cost(CUSTOMER_BOOKINGS, {"customers": 10**9}) == largest


def test_fragments_and_inline_fragments_cost_what_the_same_fields_written_out_cost() -> None:
    assert _cost(WITH_FRAGMENTS) == _cost(INLINE) == 1 + 1 + 10 * (1 + 1 + 1 + 3)


def test_a_list_without_paging_counts_a_few_items() -> None:
    assert _cost(UNPAGED) == 1 + 1 + 2 * (1 + UNPAGED_LIST_SIZE * 1)


def test_federation_entities_count_one_item_per_representation_asked() -> None:
    asked = [{"__typename": "Location", "id": "Location:manchester-central"}] * 300
    assert _cost(ENTITIES, {"representations": asked}) == 1 + 300 * (1 + 1)
    literal = 'query { _entities(representations: [{__typename: "Location", id: "Location:x"}, {}]) { __typename } }'
    assert _cost(literal) == 1 + 2 * 1
    assert _cost(ENTITIES, {"representations": asked * 10}) == 1 + DEFAULTS.max_page_size * 2


def test_introspection_is_cheap() -> None:
    assert _cost(INTROSPECTION) == 2
    assert _cost(TYPENAME) == 1


def test_the_default_limit_admits_the_dashboard_at_its_largest_page_and_refuses_three_levels_of_500() -> None:
    dashboard = _cost(DASHBOARD_QUERY, {"first": DEFAULTS.max_page_size})
    three_levels = _cost(THREE_LEVELS)
    assert dashboard <= DEFAULTS.max_query_cost < three_levels
    assert three_levels > 100 * DEFAULTS.max_query_cost


def _documents(path: Path) -> Iterator[tuple[str, str]]:
    """The GraphQL operations written as string constants in a module, or as fenced blocks in Markdown."""
    if path.suffix == ".md":
        texts = re.findall(r"```graphql\n(.*?)```", path.read_text(), flags=re.S)
    else:
        tree = ast.parse(path.read_text())
        texts = [
            node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
    for text in texts:
        if "{" not in text:
            continue
        try:
            document = parse(text)
        except Exception:  # noqa: BLE001 - most strings are not GraphQL
            continue
        for operation in document.definitions:
            if isinstance(operation, OperationDefinitionNode):
                yield text, operation.name.value if operation.name else ""


def test_every_documented_tested_and_benchmarked_operation_is_under_the_default_limit() -> None:
    # This module's own documents are left out: some are written to be refused.
    tests = [path for path in sorted((REPO / "tests").glob("*.py")) if path.name != Path(__file__).name]
    paths = [REPO / "README.md", *tests, *sorted((REPO / "bench").glob("*.py"))]
    refused = print_ast(parse(THREE_LEVELS))  # bench.isolation sends it, to see it refused
    checked = 0
    for path in paths:
        for text, name in _documents(path):
            document = parse(text)
            if print_ast(document) == refused:
                continue
            # As written: variables unset, so each page is its literal, its default or the default page size
            # (the queries sent with larger pages are checked with their variables below).
            cost = operation_cost(SCHEMA, document, MODEL, operation_name=name or None)
            assert cost <= DEFAULTS.max_query_cost, (path.name, name, cost)
            checked += 1
    assert checked > 50
    for query, variables in HEAVY.values():
        assert _cost(query, variables) <= DEFAULTS.max_query_cost


# -- over HTTP --------------------------------------------------------------------------------


def test_three_levels_of_500_are_refused_with_their_cost_before_any_sql(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    sql_statements.reset()
    body = gateway.graphql(THREE_LEVELS)
    assert sql_statements.count == 0
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": _cost(THREE_LEVELS), "limit": 100_000}


def test_the_dashboard_query_at_its_largest_page_is_admitted(gateway: RunningGateway) -> None:
    body = gateway.graphql(DASHBOARD_QUERY, {"first": DEFAULTS.max_page_size})
    assert "errors" not in body, body.get("errors")
    assert body["data"]["bookings"]["edges"]


def test_the_cost_counts_the_page_sizes_the_variables_ask_for(gateway: RunningGateway) -> None:
    admitted = gateway.graphql(CUSTOMER_BOOKINGS, {"customers": 2, "bookings": 2})
    assert "errors" not in admitted, admitted.get("errors")
    refused = gateway.graphql(CUSTOMER_BOOKINGS, {"customers": 500, "bookings": 500})
    assert _codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert refused["errors"][0]["extensions"]["cost"] == _cost(CUSTOMER_BOOKINGS, {"customers": 500, "bookings": 500})
    # The same document again, with pages as floats GraphQL takes for Ints: the cache does not let it through.
    again = gateway.graphql(CUSTOMER_BOOKINGS, {"customers": 500.0, "bookings": 500.0})
    assert _codes(again) == ["QUERY_TOO_COMPLEX"]


def _oversized() -> bytes:
    padding = "x" * (DEFAULTS.max_body_bytes + 1)
    return json.dumps({"query": TYPENAME, "variables": {"padding": padding}}).encode()


def _is_payload_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "limit": DEFAULTS.max_body_bytes}


def test_an_oversized_graphql_body_is_413(gateway: RunningGateway) -> None:
    headers = {**gateway.headers, "Content-Type": "application/json"}
    _is_payload_too_large(httpx.post(f"{gateway.url}/graphql", content=_oversized(), headers=headers, timeout=30))


def test_an_oversized_chunked_body_is_413(gateway: RunningGateway) -> None:
    body = _oversized()

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {**gateway.headers, "Content-Type": "application/json"}
    _is_payload_too_large(httpx.post(f"{gateway.url}/graphql", content=chunks(), headers=headers, timeout=30))


def test_a_chunked_body_within_the_limit_reaches_graphql(gateway: RunningGateway) -> None:
    body = json.dumps({"query": TYPENAME}).encode()
    headers = {**gateway.headers, "Content-Type": "application/json"}
    response = httpx.post(f"{gateway.url}/graphql", content=iter([body[:5], body[5:]]), headers=headers, timeout=30)
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


def test_an_oversized_push_is_413(gateway: RunningGateway) -> None:
    headers = {"X-API-Key": _salford_key(gateway), "Content-Type": "application/json"}
    _is_payload_too_large(httpx.post(f"{gateway.url}{SYNC_PATH}", content=_oversized(), headers=headers, timeout=30))


def test_an_oversized_websocket_message_closes_the_connection_as_too_big(gateway: RunningGateway) -> None:
    with GraphQLSocket(gateway.url) as socket:
        assert socket.query(TYPENAME) == {"__typename": "Query"}
        padding = "x" * (DEFAULTS.max_body_bytes + 1)
        payload = {"query": TYPENAME, "variables": {"padding": padding}}
        socket.ws.send(json.dumps({"type": "subscribe", "id": "big", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(10):  # what was on its way before (the first query's "complete", pings)
                socket.ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_an_operation_over_a_websocket_is_cost_limited_too(gateway: RunningGateway) -> None:
    with GraphQLSocket(gateway.url) as socket, pytest.raises(OperationError) as refused:
        socket.query(THREE_LEVELS)
    assert refused.value.codes == ["QUERY_TOO_COMPLEX"]


def test_a_batch_of_operations_is_a_client_error(gateway: RunningGateway) -> None:
    batch = [{"query": TYPENAME}, {"query": TYPENAME}]
    response = httpx.post(f"{gateway.url}/graphql", json=batch, headers=gateway.headers, timeout=30)
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text


def test_with_introspection_on_an_unknown_field_suggests_the_known_ones(gateway: RunningGateway) -> None:
    assert "Did you mean" in gateway.graphql(UNKNOWN_FIELD)["errors"][0]["message"]
    assert "Did you mean" in gateway.graphql(FILTERED, BAD_FILTER)["errors"][0]["message"]


@pytest.fixture(scope="module")
def closed_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """Introspection off, no data: what it answers is about validation only."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('closed') / 'gateway.sqlite3'}"
    settings = Settings(
        database_url=url,
        introspection=False,
        graphiql=False,
        demo_network=False,
        simulate_locations=False,
        sync_scheduler=False,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def test_with_introspection_off_errors_suggest_no_names(closed_gateway: RunningGateway) -> None:
    unknown = closed_gateway.graphql(UNKNOWN_FIELD)
    assert _codes(unknown) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "bokings" in unknown["errors"][0]["message"] and "Did you mean" not in str(unknown)
    filtered = closed_gateway.graphql(FILTERED, BAD_FILTER)
    assert filtered["errors"] and "Did you mean" not in str(filtered)


def test_with_introspection_off_the_federation_sdl_is_off_too(closed_gateway: RunningGateway) -> None:
    answer = closed_gateway.graphql("{ _service { sdl } }")  # as the network admin
    assert _codes(answer) == ["GRAPHQL_VALIDATION_FAILED"] and answer.get("data") is None, answer
    assert "GATEWAY_INTROSPECTION" in answer["errors"][0]["message"]


# -- rate limits --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


ADMIN = Principal(subject="admin", role=Role.NETWORK_ADMIN)


def test_a_bucket_admits_its_burst_then_says_when_to_come_back() -> None:
    buckets = TokenBuckets({"anonymous": RateLimit(per_minute=6, burst=3)}, clock=FakeClock())
    assert [buckets.take(ANONYMOUS).allowed for _ in range(4)] == [True, True, True, False]
    assert buckets.take(ANONYMOUS).retry_after == 10  # one token every 10 s


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = FakeClock()
    buckets = TokenBuckets({"anonymous": RateLimit(per_minute=6, burst=3)}, clock=clock)
    for _ in range(3):
        buckets.take(ANONYMOUS)
    clock.now += 5
    refused = buckets.take(ANONYMOUS)
    assert not refused.allowed and refused.retry_after == 5
    clock.now += 5
    assert buckets.take(ANONYMOUS).allowed
    clock.now += 3600  # an hour idle refills to the burst, never past it
    assert [buckets.take(ANONYMOUS).allowed for _ in range(4)] == [True, True, True, False]


def test_a_clock_stepping_back_takes_no_tokens_away() -> None:
    clock = FakeClock()
    buckets = TokenBuckets({"anonymous": RateLimit(per_minute=6, burst=2)}, clock=clock)
    buckets.take(ANONYMOUS)
    clock.now -= 100
    assert buckets.take(ANONYMOUS).allowed


def test_each_principal_has_its_own_bucket_and_unlisted_roles_are_unlimited() -> None:
    limit = RateLimit(per_minute=1, burst=1)
    buckets = TokenBuckets({"anonymous": limit, "location": limit}, clock=FakeClock())
    assert buckets.take(ANONYMOUS).allowed and not buckets.take(ANONYMOUS).allowed
    assert buckets.take(location_principal("salford-quays")).allowed
    assert buckets.take(location_principal("leeds-headingley")).allowed
    assert all(buckets.take(ADMIN).allowed for _ in range(100))


def test_full_buckets_are_forgotten_when_too_many_are_kept() -> None:
    clock = FakeClock()
    buckets = TokenBuckets({"location": RateLimit(per_minute=60, burst=5)}, clock=clock)
    for number in range(PRUNE_ABOVE):
        buckets.take(location_principal(f"site-{number}"))
    clock.now += 10  # every bucket is full again
    buckets.take(location_principal("one-more"))
    assert len(buckets) == 1


def test_the_default_limits_are_generous_to_admins_and_small_for_anonymous_callers() -> None:
    limits = DEFAULTS.rate_limits
    assert set(limits) == {role.value for role in Role}
    assert limits["network_admin"].per_minute >= 100 * limits["anonymous"].per_minute


# Every role this small: the test holds whoever the requests run as (the embedded admin, the admin token, anonymous).
TINY = RateLimit(per_minute=0.001, burst=3)


@pytest.fixture
def tiny_limits_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A gateway of its own with fresh buckets for each test (its cache is loaded once per module)."""
    settings = Settings(
        database_url=own_database_url,
        demo_network=True,
        graphiql=False,
        sync_scheduler=False,
        rate_limits={role.value: TINY for role in Role},
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def test_a_graphql_request_over_the_rate_limit_is_refused_with_retry_after(tiny_limits_gateway: RunningGateway) -> None:
    answers = [tiny_limits_gateway.graphql(TYPENAME) for _ in range(TINY.burst + 1)]
    assert answers[: TINY.burst] == [{"data": {"__typename": "Query"}}] * TINY.burst
    refused = answers[-1]
    assert refused.get("data") is None
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert isinstance(error["extensions"]["retryAfter"], int) and error["extensions"]["retryAfter"] >= 1
    # A client that takes application/graphql-response+json gets it as an HTTP status too.
    strict = httpx.post(
        f"{tiny_limits_gateway.url}/graphql",
        json={"query": TYPENAME},
        headers={**tiny_limits_gateway.headers, "accept": "application/graphql-response+json"},
        timeout=30,
    )
    assert strict.status_code == 429 and "data" not in strict.json()
    assert int(strict.headers["Retry-After"]) >= 1
    # Another principal, the website pushing its bookings, still has its whole burst.
    key = {"X-API-Key": _salford_key(tiny_limits_gateway)}
    response = httpx.post(f"{tiny_limits_gateway.url}{SYNC_PATH}", content=b"{}", headers=key)
    assert response.status_code == 400 and response.json()["code"] == "INVALID_PAYLOAD"


def test_a_push_over_the_rate_limit_is_429_with_retry_after(tiny_limits_gateway: RunningGateway) -> None:
    url = f"{tiny_limits_gateway.url}{SYNC_PATH}"
    key = {"X-API-Key": _salford_key(tiny_limits_gateway)}
    answers = [httpx.post(url, content=b"{}", headers=key) for _ in range(TINY.burst + 1)]
    assert [answer.status_code for answer in answers] == [400] * TINY.burst + [429]
    refused = answers[-1]
    assert refused.json()["code"] == "RATE_LIMITED" and refused.json()["success"] is False
    assert int(refused.headers["Retry-After"]) >= 1
    # A wrong key is refused as before: the website's bucket is the website's, not the key's.
    assert httpx.post(url, content=b"{}", headers={"X-API-Key": "wrong"}).status_code == 401
    # GraphQL callers are other principals: unaffected.
    assert tiny_limits_gateway.graphql(TYPENAME) == {"data": {"__typename": "Query"}}
