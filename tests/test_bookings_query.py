"""Listing bookings: filters, sort and cursor pagination, over real HTTP on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import RunningGateway

BOOKINGS = """
query Bookings(
  $filter: BookingFilterInput, $sort: BookingSort, $first: Int, $after: String, $last: Int, $before: String
) {
  bookings(filter: $filter, sort: $sort, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes {
      id status startAt isCrossLocation
      customer { id }
      serviceLocation { id }
      originatingLocation { id }
    }
  }
}
"""

LOCATIONS = "{ locations { nodes { id name } } }"


def _bookings(gateway: RunningGateway, **variables: object) -> dict[str, Any]:
    body = gateway.graphql(BOOKINGS, variables)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["bookings"]
    return page


def test_cross_location_filter_returns_only_bookings_made_elsewhere(gateway: RunningGateway) -> None:
    page = _bookings(gateway, filter={"crossLocationOnly": True}, first=100)
    assert page["totalCount"] > 0
    for booking in page["nodes"]:
        assert booking["isCrossLocation"]
        assert booking["serviceLocation"]["id"] != booking["originatingLocation"]["id"]
    everything = _bookings(gateway, first=1)["totalCount"]
    assert page["totalCount"] < everything


def test_location_status_and_time_filters_combine(gateway: RunningGateway) -> None:
    location = gateway.graphql(LOCATIONS)["data"]["locations"]["nodes"][0]["id"]
    start = datetime.now(UTC) - timedelta(days=10)
    end = datetime.now(UTC) + timedelta(days=10)
    page = _bookings(
        gateway,
        filter={
            "serviceLocationIds": [location],
            "statuses": ["CONFIRMED", "COMPLETED"],
            "startsAtOrAfter": start.isoformat(),
            "startsBefore": end.isoformat(),
        },
        first=500,
    )
    assert 0 < page["totalCount"] <= 500
    for booking in page["nodes"]:
        assert booking["serviceLocation"]["id"] == location
        assert booking["status"] in {"CONFIRMED", "COMPLETED"}
        assert start <= datetime.fromisoformat(booking["startAt"]) < end


def test_customer_filter_returns_that_customers_bookings_across_locations(gateway: RunningGateway) -> None:
    some = _bookings(gateway, filter={"crossLocationOnly": True}, first=1)["nodes"][0]
    customer = some["customer"]["id"]
    page = _bookings(gateway, filter={"customerId": customer}, first=200)
    assert page["totalCount"] == len(page["nodes"]) >= 1
    assert {booking["customer"]["id"] for booking in page["nodes"]} == {customer}
    assert some["id"] in {booking["id"] for booking in page["nodes"]}


def test_paging_forward_visits_every_booking_once_in_order(gateway: RunningGateway) -> None:
    window = {
        "startsAtOrAfter": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "startsBefore": datetime.now(UTC).isoformat(),
    }
    total = _bookings(gateway, filter=window, first=0)["totalCount"]
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = _bookings(gateway, filter=window, first=37, after=after)
        seen.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == total == len({booking["id"] for booking in seen})
    keys = [(booking["startAt"], booking["id"]) for booking in seen]
    assert keys == sorted(keys)


def test_paging_backward_from_a_cursor_returns_the_preceding_items(gateway: RunningGateway) -> None:
    first_page = _bookings(gateway, sort="START_AT_DESC", first=20)
    tenth_cursor_page = _bookings(gateway, sort="START_AT_DESC", first=10)
    before = _bookings(gateway, sort="START_AT_DESC", last=5, before=tenth_cursor_page["pageInfo"]["endCursor"])
    assert [b["id"] for b in before["nodes"]] == [b["id"] for b in first_page["nodes"][4:9]]
    assert before["pageInfo"]["hasPreviousPage"] and before["pageInfo"]["hasNextPage"]


def test_sorting_newest_first(gateway: RunningGateway) -> None:
    nodes = _bookings(gateway, sort="START_AT_DESC", first=50)["nodes"]
    starts = [datetime.fromisoformat(booking["startAt"]) for booking in nodes]
    assert starts == sorted(starts, reverse=True)
