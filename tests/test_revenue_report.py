"""The revenue report agrees with the bookings it summarises, split 20/80 across locations."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from conftest import RunningGateway

REPORT = """
query($from: Date!, $to: Date!, $groupBy: RevenueGrouping!) {
  revenue(from: $from, to: $to, groupBy: $groupBy) {
    rows {
      location { id } day
      gross { amount currency } commission { amount } tax { amount } net { amount }
      bookingCount crossLocationBookingCount
    }
    totals { gross { amount currency } net { amount } bookingCount crossLocationBookingCount }
  }
}
"""

BOOKINGS = """
query($after: String, $from: DateTime!, $to: DateTime!) {
  bookings(first: 500, after: $after, filter: {startsAtOrAfter: $from, startsBefore: $to}) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id status startAt isCrossLocation
      serviceLocation { timezone }
      revenueSplit { location { id } amount { amount currency } }
    }
  }
}
"""

PERIOD_DAYS = 14


def _period() -> tuple[date, date]:
    end = datetime.now(UTC).date() - timedelta(days=1)
    return end - timedelta(days=PERIOD_DAYS - 1), end


def _bookings_served_in(gateway: RunningGateway, start: date, end: date) -> list[dict[str, Any]]:
    padded_from = datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC).isoformat()
    padded_to = datetime.combine(end + timedelta(days=2), datetime.min.time(), UTC).isoformat()
    found, after = [], None
    while True:
        page = gateway.graphql(BOOKINGS, {"after": after, "from": padded_from, "to": padded_to})["data"]["bookings"]
        found.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    served = []
    for booking in found:
        local_day = datetime.fromisoformat(booking["startAt"]).astimezone(
            ZoneInfo(booking["serviceLocation"]["timezone"])
        )
        if start <= local_day.date() <= end:
            served.append(booking)
    return served


def test_revenue_by_location_matches_the_bookings_split(gateway: RunningGateway) -> None:
    start, end = _period()
    expected_gross: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    expected_count: dict[tuple[str, str], int] = defaultdict(int)
    expected_cross: dict[tuple[str, str], int] = defaultdict(int)
    for booking in _bookings_served_in(gateway, start, end):
        for share in booking["revenueSplit"]:
            key = (share["location"]["id"], share["amount"]["currency"])
            expected_gross[key] += Decimal(share["amount"]["amount"])
            expected_count[key] += 1
            expected_cross[key] += booking["isCrossLocation"]
    report = gateway.graphql(REPORT, {"from": start.isoformat(), "to": end.isoformat(), "groupBy": "LOCATION"})
    rows = report["data"]["revenue"]["rows"]
    assert {
        (r["location"]["id"], r["gross"]["currency"]): Decimal(r["gross"]["amount"]) for r in rows
    } == expected_gross
    assert {(r["location"]["id"], r["gross"]["currency"]): r["bookingCount"] for r in rows} == expected_count
    assert {
        (r["location"]["id"], r["gross"]["currency"]): r["crossLocationBookingCount"] for r in rows
    } == expected_cross
    for row in rows:
        gross, commission, tax, net = (Decimal(row[k]["amount"]) for k in ("gross", "commission", "tax", "net"))
        assert net == gross - commission - tax and tax > 0


def test_revenue_by_day_adds_up_to_the_same_totals_and_counts_each_booking_once(gateway: RunningGateway) -> None:
    start, end = _period()
    variables = {"from": start.isoformat(), "to": end.isoformat()}
    by_day = gateway.graphql(REPORT, {**variables, "groupBy": "DAY"})["data"]["revenue"]
    by_location = gateway.graphql(REPORT, {**variables, "groupBy": "LOCATION"})["data"]["revenue"]
    assert by_day["totals"] == by_location["totals"]
    days = {row["day"] for row in by_day["rows"]}
    assert days <= {(start + timedelta(days=i)).isoformat() for i in range(PERIOD_DAYS)} and len(days) >= 10
    served = [b for b in _bookings_served_in(gateway, start, end) if b["revenueSplit"]]
    assert sum(total["bookingCount"] for total in by_day["totals"]) == len(served)
    assert sum(total["crossLocationBookingCount"] for total in by_day["totals"]) == sum(
        b["isCrossLocation"] for b in served
    )


def test_a_reversed_period_is_invalid_input(gateway: RunningGateway) -> None:
    body = gateway.graphql(REPORT, {"from": "2026-12-01", "to": "2026-11-01", "groupBy": "DAY"})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_INPUT"]
