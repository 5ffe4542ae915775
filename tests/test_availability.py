"""Pooled availability, end to end: the gateway asks the simulated locations live over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from clock import open_tuesday

from conftest import RunningGateway

MANCHESTER = {"latitude": 53.4808, "longitude": -2.2426}  # Manchester Central itself

AVAILABILITY = """
query($input: AvailabilityInput!) {
  availability(input: $input) {
    totalSlots
    locations {
      distanceKm source error totalAvailable
      location { id }
      service { id localId category }
      slots { startAt endAt resource { id localId location { id } } }
    }
  }
}
"""


def _window(days_ahead: int = 3) -> tuple[datetime, datetime]:
    return open_tuesday(days_ahead)


def _ask(gateway: RunningGateway, **fields: Any) -> dict[str, Any]:
    start, end = _window()
    variables = {"from": start.isoformat(), "to": end.isoformat(), **fields}
    return gateway.graphql(AVAILABILITY, {"input": variables})


def _answer(gateway: RunningGateway, **fields: Any) -> dict[str, Any]:
    body = _ask(gateway, **fields)
    assert "errors" not in body, body["errors"]
    answer: dict[str, Any] = body["data"]["availability"]
    return answer


def _by_location(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["location"]["id"].removeprefix("Location:"): entry for entry in answer["locations"]}


def _error(body: dict[str, Any]) -> tuple[str, str | None]:
    assert body["data"] is None
    [error] = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("field")


def test_category_is_pooled_across_locations_nearest_first_within_the_distance(gateway: RunningGateway) -> None:
    answer = _answer(gateway, category="skin", near=MANCHESTER, maxDistanceKm=100)

    order = [entry["location"]["id"] for entry in answer["locations"]]
    # Salford is near but a OneBooking website: it cannot report availability. Dublin is beyond 100 km.
    assert order == ["Location:manchester-central", "Location:stockport-merseyway", "Location:leeds-headingley"]
    distances = [entry["distanceKm"] for entry in answer["locations"]]
    assert distances[0] == 0 and 5 < distances[1] < 15 and 50 < distances[2] < 70
    start, end = _window()
    for entry in answer["locations"]:
        assert entry["source"] == "LIVE" and entry["error"] is None
        assert entry["service"]["category"] == "skin"
        assert 0 < len(entry["slots"]) == min(50, entry["totalAvailable"])
        starts = [datetime.fromisoformat(slot["startAt"]) for slot in entry["slots"]]
        assert starts == sorted(starts) and start <= starts[0] and starts[-1] < end
        assert all(slot["resource"] is not None for slot in entry["slots"])
    assert answer["totalSlots"] == sum(len(entry["slots"]) for entry in answer["locations"])


def test_without_near_every_location_is_asked_most_slots_first_and_distance_is_null(gateway: RunningGateway) -> None:
    answer = _answer(gateway, category="skin", limitPerLocation=3)

    by_location = _by_location(answer)
    assert set(by_location) == {"manchester-central", "stockport-merseyway", "leeds-headingley", "dublin-ranelagh"}
    assert all(entry["distanceKm"] is None and len(entry["slots"]) <= 3 for entry in answer["locations"])
    found = [entry["totalAvailable"] for entry in answer["locations"]]
    assert found == sorted(found, reverse=True)


def test_a_slot_on_staff_lent_in_from_another_location_names_the_lender_s_resource(gateway: RunningGateway) -> None:
    answer = _answer(gateway, category="hair", limitPerLocation=500)

    lent = [
        (entry["location"]["id"], slot["resource"])
        for entry in answer["locations"]
        for slot in entry["slots"]
        if slot["resource"]["location"]["id"] != entry["location"]["id"]
    ]
    assert lent, "the demo lends stylists between the Manchester-area locations"
    shares = gateway.graphql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Resource { id sharedWith { location { id } } } } }",
        {"ids": sorted({resource["id"] for _, resource in lent})},
    )["data"]["nodes"]
    borrowers = {node["id"]: {share["location"]["id"] for share in node["sharedWith"]} for node in shares}
    assert all(location_id in borrowers[resource["id"]] for location_id, resource in lent)


def test_a_slot_booked_at_the_location_disappears_from_the_next_answer(gateway: RunningGateway) -> None:
    pooled = _answer(gateway, category="skin", near=MANCHESTER, maxDistanceKm=5)
    [manchester] = pooled["locations"]
    service_id = manchester["service"]["id"]
    before = _answer(gateway, serviceId=service_id, limitPerLocation=500)
    [entry] = before["locations"]
    slot = next(s for s in entry["slots"] if s["resource"]["location"]["id"] == "Location:manchester-central")
    taken = (slot["startAt"], slot["resource"]["id"])
    assert taken in {(s["startAt"], s["resource"]["id"]) for s in entry["slots"]}

    store = gateway.app.state.simulators.stores["manchester-central"]
    local_service_id = entry["service"]["localId"]
    booking = store.create_booking(
        key=None,
        local_customer_id=None,
        customer={"first_name": "Walk", "last_name": "In"},
        local_service_id=local_service_id,
        local_resource_id=slot["resource"]["localId"],
        start_at=datetime.fromisoformat(slot["startAt"]),
        end_at=datetime.fromisoformat(slot["endAt"]),
        price_minor=store.services[local_service_id].price_minor,
        currency=store.currency,
    )
    try:
        after = _answer(gateway, serviceId=service_id, limitPerLocation=500)
        [entry_after] = after["locations"]
        assert taken not in {(s["startAt"], s["resource"]["id"]) for s in entry_after["slots"]}
        assert entry_after["totalAvailable"] < entry["totalAvailable"]
    finally:
        store.bookings.pop(booking.local_id)  # the shared gateway's location, as it was


def test_a_failing_location_is_reported_unavailable_while_the_others_answer(gateway: RunningGateway) -> None:
    stockport = gateway.app.state.simulators.locations["stockport-merseyway"]
    stockport.controls.failure_rate = 1.0
    try:
        answer = _answer(gateway, category="skin", near=MANCHESTER, maxDistanceKm=100)
    finally:
        stockport.controls.failure_rate = 0.0

    by_location = _by_location(answer)
    failed = by_location["stockport-merseyway"]
    assert failed["source"] == "UNAVAILABLE" and failed["slots"] == [] and failed["totalAvailable"] == 0
    assert "503" in failed["error"]
    for location_id in ("manchester-central", "leeds-headingley"):
        assert by_location[location_id]["source"] == "LIVE" and by_location[location_id]["slots"]
    # Still sorted by distance: being down does not move a location.
    assert list(by_location) == ["manchester-central", "stockport-merseyway", "leeds-headingley"]


def test_invalid_windows_and_missing_criteria_are_invalid_input(gateway: RunningGateway) -> None:
    start, end = _window()
    now = datetime.now(UTC)
    cases = {
        "reversed": {"category": "skin", "from": end.isoformat(), "to": start.isoformat()},
        "past": {
            "category": "skin",
            "from": (now - timedelta(days=2)).isoformat(),
            "to": (now - timedelta(days=1)).isoformat(),
        },
        "too long": {"category": "skin", "from": start.isoformat(), "to": (start + timedelta(days=15)).isoformat()},
        "no criteria": {"from": start.isoformat(), "to": end.isoformat()},
        "both criteria": {
            "category": "skin",
            "serviceId": "Service:x",
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
    }
    errors = {name: _error(gateway.graphql(AVAILABILITY, {"input": case})) for name, case in cases.items()}
    assert errors == {
        "reversed": ("INVALID_INPUT", "from"),
        "past": ("INVALID_INPUT", "to"),
        "too long": ("INVALID_INPUT", "to"),
        "no criteria": ("INVALID_INPUT", "serviceId"),
        "both criteria": ("INVALID_INPUT", "serviceId"),
    }


def test_an_unknown_service_is_not_found(gateway: RunningGateway) -> None:
    assert _error(_ask(gateway, serviceId="Service:svc_does_not_exist"))[0] == "NOT_FOUND"
