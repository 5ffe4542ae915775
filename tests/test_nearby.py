"""Which locations can serve near a point: one rule for pooled availability and for createBooking by category.

Both refuse a point that is not on the map (INVALID_INPUT on `near`) before anything is asked or written;
availability names an offline location UNAVAILABLE without asking it, createBooking leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clock import open_tuesday
from live_helpers import cache_row, customer_known_at, free_slot
from sqlalchemy import func, select, update

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from resolvers.errors import InvalidInputError
from resolvers.locations.nearby import GeoPoint, serving_near
from settings import Settings
from sources.cache.models import Location, OutboxMessage, Service

MANCHESTER = "manchester-central"
STOCKPORT = "stockport-merseyway"
MANCHESTER_POINT = {"latitude": 53.4808, "longitude": -2.2426}
OFF_THE_MAP = [{"latitude": 91.0, "longitude": 0.0}, {"latitude": 53.4, "longitude": -181.0}]

AVAILABILITY = """
query($input: AvailabilityInput!) {
  availability(input: $input) { locations { location { id } distanceKm source error } }
}
"""

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id serviceLocation { id } }
    errors { code field }
  }
}
"""


@pytest.fixture(scope="module")
def steady_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A gateway of its own whose heartbeat looks once, at start: a location's status is what a test sets."""
    settings = Settings(
        database_url=own_database_url, demo_network=True, **{**LIVE_SETTINGS, "heartbeat_seconds": 3600}
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def set_status(gateway: RunningGateway, location_id: str, status: str) -> None:
    async def write() -> None:
        async with gateway.engine.begin() as connection:
            await connection.execute(update(Location).where(Location.id == location_id).values(status=status))

    gateway.run(write())


def _window() -> dict[str, str]:
    start, end = open_tuesday()
    return {"from": start.isoformat(), "to": end.isoformat()}


def _asked(gateway: RunningGateway, **fields: Any) -> list[str]:
    body = gateway.graphql(AVAILABILITY, {"input": {**_window(), **fields}})
    assert "errors" not in body, body["errors"]
    return [entry["location"]["id"].removeprefix("Location:") for entry in body["data"]["availability"]["locations"]]


def _outbox_for(gateway: RunningGateway, location_id: str) -> int:
    async def count() -> int:
        async with gateway.engine.connect() as connection:
            statement = select(func.count()).where(OutboxMessage.location_id == location_id)
            return int((await connection.execute(statement)).scalar_one())

    return gateway.run(count())


# -- availability near a point -----------------------------------------------------------------------


def _sources(gateway: RunningGateway, **fields: Any) -> dict[str, str]:
    body = gateway.graphql(AVAILABILITY, {"input": {**_window(), **fields}})
    assert "errors" not in body, body["errors"]
    return {
        entry["location"]["id"].removeprefix("Location:"): entry["source"]
        for entry in body["data"]["availability"]["locations"]
    }


def test_availability_near_a_point_names_an_offline_location_unavailable_without_asking_it(
    steady_gateway: RunningGateway,
) -> None:
    near = {"category": "skin", "near": MANCHESTER_POINT, "maxDistanceKm": 100}
    assert _sources(steady_gateway, **near)[STOCKPORT] == "LIVE"

    set_status(steady_gateway, STOCKPORT, "offline")
    try:
        body = steady_gateway.graphql(AVAILABILITY, {"input": {**_window(), **near}})
    finally:
        set_status(steady_gateway, STOCKPORT, "online")

    entries = {e["location"]["id"].removeprefix("Location:"): e for e in body["data"]["availability"]["locations"]}
    assert entries[STOCKPORT]["source"] == "UNAVAILABLE"
    assert entries[STOCKPORT]["error"] == "the location is offline (its last heartbeat failed); not asked"
    assert entries[MANCHESTER]["source"] == "LIVE"
    assert _sources(steady_gateway, **near)[STOCKPORT] == "LIVE"


def test_availability_near_a_point_off_the_map_is_invalid_input(gateway: RunningGateway) -> None:
    for point in OFF_THE_MAP:
        body = gateway.graphql(AVAILABILITY, {"input": {**_window(), "category": "skin", "near": point}})
        assert body["data"] is None
        assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]] == [
            ("INVALID_INPUT", "near")
        ]


# -- createBooking by category near a point ------------------------------------------------------------


def test_create_booking_by_category_near_a_point_leaves_offline_locations_out(steady_gateway: RunningGateway) -> None:
    slot = free_slot(steady_gateway, MANCHESTER, days_ahead=60)
    booking = {
        "category": cache_row(steady_gateway, Service, slot.service_id).category,
        "near": MANCHESTER_POINT,  # Manchester is nearest, and free then
        "maxDistanceKm": 100,
        "startAt": slot.start_at.isoformat(),
        "customerId": f"Customer:{customer_known_at(steady_gateway, MANCHESTER)}",
    }
    queued_for_manchester = _outbox_for(steady_gateway, MANCHESTER)

    set_status(steady_gateway, MANCHESTER, "offline")
    try:
        while_offline = steady_gateway.graphql(CREATE_BOOKING, {"input": {**booking, "idempotencyKey": "nearby-1"}})
    finally:
        set_status(steady_gateway, MANCHESTER, "online")
    back_online = steady_gateway.graphql(CREATE_BOOKING, {"input": {**booking, "idempotencyKey": "nearby-2"}})

    # Offline, Manchester is not a candidate: booked elsewhere, or nowhere near enough was free.
    payload = while_offline["data"]["createBooking"]
    if payload["booking"] is None:
        assert [error["code"] for error in payload["errors"]] == ["SLOT_UNAVAILABLE"], payload
    else:
        assert payload["booking"]["serviceLocation"]["id"] != f"Location:{MANCHESTER}"
    # Online again, the nearest is Manchester: it was left out for being offline, nothing else.
    online = back_online["data"]["createBooking"]
    assert online["errors"] == [], online
    assert online["booking"]["serviceLocation"]["id"] == f"Location:{MANCHESTER}"
    assert _outbox_for(steady_gateway, MANCHESTER) == queued_for_manchester + 1


def test_create_booking_by_category_when_every_location_near_is_offline_is_location_unavailable(
    steady_gateway: RunningGateway,
) -> None:
    slot = free_slot(steady_gateway, MANCHESTER, days_ahead=61)
    category = cache_row(steady_gateway, Service, slot.service_id).category
    booking = {
        "idempotencyKey": "nearby-all-offline",
        "category": category,
        "near": MANCHESTER_POINT,
        "maxDistanceKm": 30,  # Manchester, Salford and Stockport
        "startAt": slot.start_at.isoformat(),
        "customerId": f"Customer:{customer_known_at(steady_gateway, MANCHESTER)}",
    }
    nearby = [MANCHESTER, STOCKPORT, "salford-quays"]
    queued = {location: _outbox_for(steady_gateway, location) for location in nearby}
    for location in nearby:
        set_status(steady_gateway, location, "offline")
    try:
        payload = steady_gateway.graphql(CREATE_BOOKING, {"input": booking})["data"]["createBooking"]
    finally:
        for location in nearby:
            set_status(steady_gateway, location, "online")

    assert payload["booking"] is None
    assert [error["code"] for error in payload["errors"]] == ["LOCATION_UNAVAILABLE"], payload
    assert {location: _outbox_for(steady_gateway, location) for location in nearby} == queued


def test_create_booking_near_a_point_off_the_map_is_invalid_input_and_writes_nothing(
    gateway: RunningGateway,
) -> None:
    start = (datetime.now(UTC) + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)
    customer = f"Customer:{customer_known_at(gateway, MANCHESTER)}"
    queued = _outbox_for(gateway, MANCHESTER)
    for index, point in enumerate(OFF_THE_MAP):
        body = gateway.graphql(
            CREATE_BOOKING,
            {
                "input": {
                    "idempotencyKey": f"off-the-map-{index}-{start.isoformat()}",
                    "category": "skin",
                    "near": point,
                    "startAt": start.isoformat(),
                    "customerId": customer,
                }
            },
        )
        payload = body["data"]["createBooking"]
        assert payload["booking"] is None
        assert [error["code"] for error in payload["errors"]] == ["INVALID_INPUT"]
        assert payload["errors"][0]["field"] in ("near.latitude", "near.longitude")
    assert _outbox_for(gateway, MANCHESTER) == queued


# -- the rule itself -----------------------------------------------------------------------------------


class Site:
    def __init__(self, id: str, latitude: float, longitude: float, status: str = "online") -> None:
        self.id, self.latitude, self.longitude, self.status = id, latitude, longitude, status


def test_nearest_first_within_reach_offline_marked_and_order_kept_without_a_point() -> None:
    here = Site("here", 53.48, -2.24)
    near = Site("near", 53.41, -2.16)  # about 9 km
    far = Site("far", 53.82, -1.58)  # about 57 km
    down = Site("down", 53.48, -2.24, status="offline")
    candidates = [("a", far), ("b", down), ("c", near), ("d", here)]

    within = serving_near(candidates, GeoPoint(53.48, -2.24), 30)
    anywhere = serving_near(candidates, None, 30)

    assert [(n.candidate, round(n.distance_km or 0), n.offline) for n in within] == [
        ("b", 0, True),
        ("d", 0, False),
        ("c", 9, False),
    ]
    assert [(n.candidate, n.distance_km, n.offline) for n in anywhere] == [
        ("a", None, False),
        ("b", None, True),
        ("c", None, False),
        ("d", None, False),
    ]
    with pytest.raises(InvalidInputError) as off_the_map:
        serving_near(candidates, GeoPoint(-90.5, 0), 30)
    assert off_the_map.value.details["field"] == "near"
    with pytest.raises(InvalidInputError) as no_reach:
        serving_near(candidates, GeoPoint(0, 0), 0)
    assert no_reach.value.details["field"] == "maxDistanceKm"
