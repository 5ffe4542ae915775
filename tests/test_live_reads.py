"""`maxAge` on root fields: stale locations are asked live first, and `extensions.freshness` says per location
and kind of data where the answer came from, how old it is and what failed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conftest import RunningGateway

LOCATIONS = {
    "dublin-ranelagh",
    "leeds-headingley",
    "manchester-central",
    "manchester-piccadilly-hotel",
    "salford-quays",
    "stockport-merseyway",
}
# Nothing to ask there, so the cache is all there is: a OneBooking source website pushes its bookings to the
# gateway, and neither it, the platform location nor the hotel keeps stock.
CACHE_ONLY = {
    "bookings": {"salford-quays"},
    "customers": {"salford-quays"},
    "stock": {"salford-quays", "leeds-headingley", "manchester-piccadilly-hotel"},
}
MANCHESTER = "manchester-central"
PUSH_ONLY = "push-only: the location pushes its changes; it cannot be asked"
NO_STOCK = "no stock to read: the location's system keeps none the gateway can ask for"


def freshness(body: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    assert "errors" not in body, body
    report: dict[str, dict[str, dict[str, Any]]] = body["extensions"]["freshness"]
    return report


def sources(report: dict[str, dict[str, dict[str, Any]]], kind: str) -> dict[str, str]:
    return {location: kinds[kind]["source"] for location, kinds in report.items()}


def answered_live(kind: str) -> dict[str, str]:
    return {location: "cache" if location in CACHE_ONLY[kind] else "live" for location in LOCATIONS}


def test_a_read_within_the_default_bound_says_every_location_answered_from_the_cache(
    live_gateway: RunningGateway,
) -> None:
    report = freshness(live_gateway.graphql("{ bookings(first: 1) { totalCount } }"))
    assert set(report) == LOCATIONS
    for kinds in report.values():
        assert set(kinds) == {"bookings"}
        entry = kinds["bookings"]
        assert set(entry) == {"source", "refreshedAt", "ageSeconds", "error", "cannotRefresh"}
        assert entry["source"] == "cache" and entry["error"] is None
        assert datetime.fromisoformat(entry["refreshedAt"]).tzinfo is not None
        assert isinstance(entry["ageSeconds"], float | int) and entry["ageSeconds"] >= 0


def test_max_age_zero_asks_every_location_that_can_answer_live(live_gateway: RunningGateway) -> None:
    for field, kind in (("bookings", "bookings"), ("customers", "customers"), ("inventory", "stock")):
        report = freshness(live_gateway.graphql(f"{{ {field}(first: 1, maxAge: 0) {{ totalCount }} }}"))
        assert sources(report, kind) == answered_live(kind), field


def test_one_object_by_id_refreshes_its_kind_of_data_everywhere(live_gateway: RunningGateway) -> None:
    ids = live_gateway.graphql("{ bookings(first: 1) { nodes { id customer { id } } } }")["data"]["bookings"]
    booking_id, customer_id = ids["nodes"][0]["id"], ids["nodes"][0]["customer"]["id"]
    for field, global_id, kind in (("booking", booking_id, "bookings"), ("customer", customer_id, "customers")):
        body = live_gateway.graphql(f'{{ {field}(id: "{global_id}", maxAge: 0) {{ id }} }}')
        assert body["data"][field]["id"] == global_id
        assert sources(freshness(body), kind) == answered_live(kind)


def test_each_root_field_s_entry_is_labelled_with_the_data_it_read(live_gateway: RunningGateway) -> None:
    body = live_gateway.graphql(
        "{ bookings(first: 1) { totalCount } customers(first: 1) { totalCount } inventory(first: 1) { totalCount } }"
    )
    assert {location: set(kinds) for location, kinds in freshness(body).items()} == {
        location: {"bookings", "customers", "stock"} for location in LOCATIONS
    }
    only_customers = freshness(live_gateway.graphql("{ customers(first: 1) { totalCount } }"))
    assert {location: set(kinds) for location, kinds in only_customers.items()} == {
        location: {"customers"} for location in LOCATIONS
    }


def test_a_location_that_cannot_be_asked_says_why_even_when_asked_for_fresh_data(
    live_gateway: RunningGateway,
) -> None:
    query = "{ bookings(first: 1, maxAge: 0) { totalCount } inventory(first: 1, maxAge: 0) { totalCount } }"
    report = freshness(live_gateway.graphql(query))
    why = {
        (location, kind): entry["cannotRefresh"] for location, kinds in report.items() for kind, entry in kinds.items()
    }
    expected = {
        ("salford-quays", "bookings"): PUSH_ONLY,
        ("salford-quays", "stock"): NO_STOCK,
        ("leeds-headingley", "stock"): NO_STOCK,
        ("manchester-piccadilly-hotel", "stock"): NO_STOCK,
    }
    assert {key: reason for key, reason in why.items() if reason is not None} == expected
    # Not a failure: nothing was tried, so there is no error, and the data is the cache's.
    salford = report["salford-quays"]["bookings"]
    assert (salford["source"], salford["error"]) == ("cache", None)


def test_a_location_filter_bounds_what_is_refreshed(live_gateway: RunningGateway) -> None:
    manchester = f"Location:{MANCHESTER}"
    for query in (
        f'{{ bookings(first: 1, maxAge: 0, filter: {{ locationIds: ["{manchester}"] }}) {{ totalCount }} }}',
        f'{{ bookings(first: 1, maxAge: 0, filter: {{ serviceLocationIds: ["{manchester}"] }}) {{ totalCount }} }}',
    ):
        assert sources(freshness(live_gateway.graphql(query)), "bookings") == {MANCHESTER: "live"}
    query = f'{{ inventory(first: 1, maxAge: 0, filter: {{ locationIds: ["{manchester}"] }}) {{ totalCount }} }}'
    assert sources(freshness(live_gateway.graphql(query)), "stock") == {MANCHESTER: "live"}


def test_a_negative_bound_is_invalid_input_and_reports_no_freshness(live_gateway: RunningGateway) -> None:
    body = live_gateway.graphql("{ customers(first: 1, maxAge: -1) { totalCount } }")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": "maxAge"}
    assert "extensions" not in body


def test_fields_without_a_bound_report_no_freshness(live_gateway: RunningGateway) -> None:
    body = live_gateway.graphql("{ locations { totalCount } services(first: 1) { totalCount } }")
    assert "errors" not in body and "extensions" not in body


def test_a_change_at_the_location_reaches_the_field_that_refreshed_even_beside_one_that_did_not(
    live_gateway: RunningGateway,
) -> None:
    """Both fields read through the request's loaders; the refresh wrote to the cache behind them."""
    page = live_gateway.graphql(
        """query Upcoming($at: [ID!], $after: DateTime) {
          bookings(first: 1, filter: { serviceLocationIds: $at, statuses: [CONFIRMED], startsAtOrAfter: $after }) {
            nodes { id localId status }
          }
        }""",
        {"at": [f"Location:{MANCHESTER}"], "after": datetime.now(UTC).isoformat()},
    )["data"]["bookings"]["nodes"]
    [booking] = page
    live_gateway.store(MANCHESTER).cancel_booking(key=None, local_id=booking["localId"])
    body = live_gateway.graphql(
        """query Both($id: ID!) {
          cached: booking(id: $id) { status }
          refreshed: booking(id: $id, maxAge: 0) { status }
        }""",
        {"id": booking["id"]},
    )
    assert body["data"]["refreshed"] == {"status": "CANCELLED"}
    assert freshness(body)[MANCHESTER]["bookings"]["source"] == "live"
