"""Subscriptions over every transport, with the real clients: graphql-ws, graphql-sse (distinct connections),
Apollo Client's multipart HTTP subscriptions, and Python gql on both WebSocket subprotocols.

Each subscribes as a role, waits until the bus has the subscriber, causes a booking through GraphQL, and
receives its event; a bad token is refused; a client that leaves leaves nothing on the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError
from gql.transport.websockets import WebsocketsTransport
from subscriber_helpers import create_booking, manager_token, node_subscriber, subscribers, wait_subscribed
from ws_helpers import PROTOCOLS, TRANSPORT_WS

from conftest import RunningGateway, start_gateway, stop_gateway
from settings import Settings

BOOKING_EVENTS = """
subscription Bookings($location: ID) {
  bookingEvents(locationId: $location) { __typename bookingId serviceLocationId booking { __typename id status } }
}
"""

TOPIC = "booking.changed"
HOME = "manchester-central"
ELSEWHERE = "dublin-ranelagh"
BAD_TOKEN = "not-a-token"


@pytest.fixture(scope="module")
def transports_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A demo gateway of this module's own (the tests book), on each backend."""
    running = start_gateway(Settings(database_url=own_database_url, demo_network=True, sync_scheduler=False))
    try:
        yield running
    finally:
        stop_gateway(running)


def booked_event(booking_id: str, location_id: str) -> dict[str, Any]:
    """The bookingEvents result a subscriber receives for a booking just created."""
    # __typename asked for: Apollo Client adds it to every selection, so every client gets the same answer.
    booking = {"__typename": "Booking", "id": booking_id, "status": "CONFIRMED"}
    event = {"bookingId": booking_id, "serviceLocationId": f"Location:{location_id}", "booking": booking}
    return {"bookingEvents": {"__typename": "BookingEvent", **event}}


@pytest.mark.parametrize("client", ["graphql-ws", "graphql-sse", "apollo"])
def test_a_node_client_receives_a_booking_made_after_it_subscribed_and_leaves_nothing_behind(
    transports_gateway: RunningGateway, client: str
) -> None:
    gateway = transports_gateway
    before = subscribers(gateway, TOPIC)
    with ThreadPoolExecutor(1) as pool:
        heard = node_subscriber(pool, client, gateway, manager_token(gateway, HOME), BOOKING_EVENTS)
        wait_subscribed(gateway, TOPIC, before + 1)

        booking_id = create_booking(gateway, HOME)

        printed = heard.result(timeout=60)
    assert printed == {"results": [{"data": booked_event(booking_id, HOME)}]}
    # The client unsubscribed and exited: the server ended its subscription.
    wait_subscribed(gateway, TOPIC, before)


@pytest.mark.parametrize("client", ["graphql-sse", "apollo"])
def test_a_bad_token_is_refused_with_401_before_an_http_stream_starts(
    transports_gateway: RunningGateway, client: str
) -> None:
    before = subscribers(transports_gateway, TOPIC)
    with ThreadPoolExecutor(1) as pool:
        printed = node_subscriber(pool, client, transports_gateway, BAD_TOKEN, BOOKING_EVENTS).result(timeout=60)

    assert printed["results"] == []
    # graphql-sse reports the 401 itself; Apollo Client reads the 401's graphql-response+json body as its errors.
    refusal = printed["error"]
    assert refusal["status"] == 401 or refusal["graphqlCode"] == "UNAUTHENTICATED", printed
    assert subscribers(transports_gateway, TOPIC) == before


@pytest.mark.parametrize("accept", ["text/event-stream", 'multipart/mixed;subscriptionSpec="1.0", application/json'])
def test_a_bad_token_on_a_streaming_request_is_an_http_401_on_the_wire(
    transports_gateway: RunningGateway, accept: str
) -> None:
    headers = {"Authorization": f"Bearer {BAD_TOKEN}", "Accept": accept}
    response = httpx.post(f"{transports_gateway.url}/graphql", json={"query": BOOKING_EVENTS}, headers=headers)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_bad_token_closes_a_graphql_ws_connection_with_4403(transports_gateway: RunningGateway) -> None:
    with ThreadPoolExecutor(1) as pool:
        printed = node_subscriber(pool, "graphql-ws", transports_gateway, BAD_TOKEN, BOOKING_EVENTS).result(60)

    assert printed["results"] == []
    assert printed["error"]["code"] == 4403, printed


def test_a_location_manager_hears_only_its_own_locations_bookings_over_sse_and_multipart(
    transports_gateway: RunningGateway,
) -> None:
    gateway = transports_gateway
    token = manager_token(gateway, HOME)
    before = subscribers(gateway, TOPIC)
    with ThreadPoolExecutor(2) as pool:
        over_sse = node_subscriber(pool, "graphql-sse", gateway, token, BOOKING_EVENTS)
        over_multipart = node_subscriber(pool, "apollo", gateway, token, BOOKING_EVENTS)
        wait_subscribed(gateway, TOPIC, before + 2)

        create_booking(gateway, ELSEWHERE)  # published first: a subscriber that saw it would print it
        own_booking = create_booking(gateway, HOME)

        expected = {"results": [{"data": booked_event(own_booking, HOME)}]}
        assert over_sse.result(timeout=60) == expected
        assert over_multipart.result(timeout=60) == expected
    wait_subscribed(gateway, TOPIC, before)


# -- the wire, as curl or a browser's EventSource sees it --------------------------------------------------
def read_until(chunks: Iterator[bytes], marker: bytes) -> bytes:
    """What the stream sends up to `marker`. `chunks` is one response.iter_raw() kept by the caller: dropping
    that generator would close the response, and the connection with it, while the test still waits."""
    received = b""
    for chunk in chunks:
        received += chunk
        if marker in received:
            return received
    raise AssertionError(f"the stream ended before {marker!r}: {received!r}")


def test_an_sse_subscription_by_get_streams_next_events_and_ends_when_the_client_leaves(
    transports_gateway: RunningGateway,
) -> None:
    gateway = transports_gateway
    before = subscribers(gateway, TOPIC)
    headers = {**gateway.headers, "Accept": "text/event-stream"}
    params = {"query": BOOKING_EVENTS, "variables": f'{{"location": "Location:{HOME}"}}'}
    with httpx.stream("GET", f"{gateway.url}/graphql", params=params, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        chunks = response.iter_raw()
        wait_subscribed(gateway, TOPIC, before + 1)

        booking_id = create_booking(gateway, HOME)

        received = read_until(chunks, b"\r\n\r\n").decode()
    assert received.startswith("event: next\r\ndata: ")
    assert booking_id in received
    wait_subscribed(gateway, TOPIC, before)


def test_a_mutation_by_get_is_refused_over_sse_too(transports_gateway: RunningGateway) -> None:
    headers = {**transports_gateway.headers, "Accept": "text/event-stream"}
    params = {"query": "mutation { __typename }"}
    with httpx.stream("GET", f"{transports_gateway.url}/graphql", params=params, headers=headers) as response:
        chunks = response.iter_raw()
        received = read_until(chunks, b"event: complete").decode()

    assert "GRAPHQL_VALIDATION_FAILED" in received and "mutations are not allowed" in received
    assert '"data":null' in received


def test_a_multipart_subscription_starts_with_a_heartbeat_wherever_the_accept_list_names_it(
    transports_gateway: RunningGateway,
) -> None:
    gateway = transports_gateway
    before = subscribers(gateway, TOPIC)
    headers = {**gateway.headers, "Accept": 'application/json, multipart/mixed;subscriptionSpec="1.0"'}
    body = {"query": BOOKING_EVENTS}
    with httpx.stream("POST", f"{gateway.url}/graphql", json=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("multipart/mixed;boundary=graphql;subscriptionSpec=1.0")
        chunks = response.iter_raw()
        first_part = read_until(chunks, b"--graphql").decode()
        wait_subscribed(gateway, TOPIC, before + 1)

    assert first_part.endswith("\r\n\r\n{}\r\n--graphql")  # Apollo's heartbeat: an empty JSON object
    wait_subscribed(gateway, TOPIC, before)


def test_a_query_accepting_multipart_without_a_subscription_spec_is_answered_as_json(
    transports_gateway: RunningGateway,
) -> None:
    # What GraphiQL's fetcher sends for a query: multipart only for @defer, never a subscription stream.
    headers = {**transports_gateway.headers, "Accept": "application/json, multipart/mixed"}
    response = httpx.post(f"{transports_gateway.url}/graphql", json={"query": "{ __typename }"}, headers=headers)

    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"__typename": "Query"}}


# -- Python gql ----------------------------------------------------------------------------------------------
def gql_transport(gateway: RunningGateway, protocol: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=gateway.url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[protocol],
        init_payload={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_gql_receives_a_booking_made_after_it_subscribed(
    transports_gateway: RunningGateway, protocol: str
) -> None:
    gateway = transports_gateway
    before = subscribers(gateway, TOPIC)
    client = Client(transport=gql_transport(gateway, protocol, manager_token(gateway, HOME)))
    async with client as session:
        events = session.subscribe(GraphQLRequest(BOOKING_EVENTS, variable_values={"location": f"Location:{HOME}"}))
        first = asyncio.ensure_future(anext(events))
        await asyncio.to_thread(wait_subscribed, gateway, TOPIC, before + 1)

        booking_id = await asyncio.to_thread(create_booking, gateway, HOME)

        assert await asyncio.wait_for(first, timeout=30) == booked_event(booking_id, HOME)
        await events.aclose()
    await asyncio.to_thread(wait_subscribed, gateway, TOPIC, before)


@pytest.mark.asyncio
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_gql_with_a_bad_token_is_refused_before_it_subscribes(
    transports_gateway: RunningGateway, protocol: str
) -> None:
    client = Client(transport=gql_transport(transports_gateway, protocol, BAD_TOKEN))
    with pytest.raises(TransportError) as refused:
        async with client as session:
            await anext(session.subscribe(GraphQLRequest(BOOKING_EVENTS)))

    if protocol == TRANSPORT_WS:  # the connection closed with 4403 Forbidden
        closed = getattr(refused.value.__cause__, "rcvd", None)
        assert closed is not None and closed.code == 4403, repr(refused.value.__cause__)
    else:  # legacy graphql-ws: a connection_error with the reason, then the close
        assert "UNAUTHENTICATED" in str(refused.value) and "the token is malformed" in str(refused.value)
