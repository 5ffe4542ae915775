"""Sharing rules that bind: a resource lent to another location is offered and booked there only within its
rules (weekdays, hours of the day, a weekly maximum, lead time), on the owner's clock; the owner's own
bookings are not bound. End to end over real HTTP, as the locations' managers, against the demo network's
simulated BookingX locations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from live_helpers import cache_counts, customer_known_at
from sharing_helpers import DemoLoan, booked, bookings_of, demo_loan, refused_naming, tuesday

from conftest import RunningGateway, start_gateway, stop_gateway
from identity.principal import Role
from settings import Settings

RULES = "weekdays availableFrom availableUntil maxHoursPerWeek leadTimeHours priority notes"
SHARE = f"""
mutation Share($input: ShareResourceInput!) {{
  shareResource(input: $input) {{
    resource {{ sharedWith {{ location {{ id }} rules {{ {RULES} }} }} }}
    outcomes {{ status code reason }}
    errors {{ code message field }}
  }}
}}
"""
SHARED_WITH = f"""
query Lent($id: ID!) {{
  node(id: $id) {{ ... on Resource {{ sharedWith {{ location {{ id }} rules {{ {RULES} }} }} }} }}
}}
"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id startAt resource { id } serviceLocation { id } }
    outcomes { status code reason }
    errors { code message field sharingRule }
  }
}
"""
RESCHEDULE = """
mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) {
    booking { id startAt }
    outcomes { status code reason }
    errors { code message field sharingRule }
  }
}
"""
TRANSFER = """
mutation Transfer($input: TransferBookingInput!) {
  transferBooking(input: $input) {
    booking { id serviceLocation { id } }
    originalBooking { id status }
    outcomes { status code reason }
    errors { code message field sharingRule }
  }
}
"""
AVAILABILITY = """
query Free($input: AvailabilityInput!) {
  availability(input: $input) { locations { error slots { startAt endAt resource { networkId } } } }
}
"""


@dataclass(frozen=True)
class Network:
    gateway: RunningGateway
    loan: DemoLoan
    owner_manager: dict[str, str]
    borrower_manager: dict[str, str]
    owner_customer: str
    borrower_customer: str


@pytest.fixture(scope="module")
def network(own_database_url: str) -> Iterator[Network]:
    gateway = start_gateway(Settings(database_url=own_database_url, demo_network=True, sync_scheduler=False))
    try:
        loan = demo_loan(gateway)

        def manager(location_id: str) -> dict[str, str]:
            issue = gateway.app.state.authenticator.issue
            token = gateway.run(issue(Role.LOCATION_MANAGER, subject=f"manager-{location_id}", locations=[location_id]))
            return {"Authorization": f"Bearer {token}"}

        yield Network(
            gateway,
            loan,
            owner_manager=manager(loan.owner),
            borrower_manager=manager(loan.borrower),
            owner_customer=customer_known_at(gateway, loan.owner),
            borrower_customer=customer_known_at(gateway, loan.borrower),
        )
    finally:
        stop_gateway(gateway)


def _key() -> str:
    return f"sharing-{uuid.uuid4().hex}"


def share(network: Network, rules: dict[str, Any]) -> dict[str, Any]:
    """The owner's manager sets the loan's rules."""
    loan = network.loan
    variables = {
        "input": {
            "idempotencyKey": _key(),
            "resourceId": f"Resource:{loan.resource}",
            "withLocationId": f"Location:{loan.borrower}",
            "rules": rules,
        }
    }
    body = network.gateway.graphql(SHARE, variables, headers=network.owner_manager)
    payload: dict[str, Any] = body["data"]["shareResource"]
    return payload


def lend(network: Network, rules: dict[str, Any]) -> None:
    payload = share(network, rules)
    assert payload["errors"] == [] and [o["status"] for o in payload["outcomes"]] == ["DELIVERED"], payload


def book(network: Network, start: datetime, *, at_owner: bool = False, **extra: Any) -> dict[str, Any]:
    """A booking of the lent resource: at the borrower by its manager, or at the owner by the owner's manager."""
    loan = network.loan
    fields = {
        "idempotencyKey": _key(),
        "serviceId": f"Service:{loan.owner_service if at_owner else loan.borrower_service}",
        "customerId": f"Customer:{network.owner_customer if at_owner else network.borrower_customer}",
        "resourceId": f"Resource:{loan.resource}",
        "startAt": start.isoformat(),
        **extra,
    }
    headers = network.owner_manager if at_owner else network.borrower_manager
    payload: dict[str, Any] = network.gateway.graphql(CREATE, {"input": fields}, headers=headers)["data"][
        "createBooking"
    ]
    return payload


def free_starts(network: Network, location_id: str, service: str, day: date) -> set[datetime]:
    """When the lent resource is offered at `location_id` on `day` (the owner's local day)."""
    start = network.loan.at(day, "00:00")
    window = {
        "serviceId": f"Service:{service}",
        "from": start.isoformat(),
        "to": (start + timedelta(days=1)).isoformat(),
    }
    headers = network.owner_manager if location_id == network.loan.owner else network.borrower_manager
    body = network.gateway.graphql(AVAILABILITY, {"input": {**window, "limitPerLocation": 500}}, headers=headers)
    [entry] = body["data"]["availability"]["locations"]
    assert entry["error"] is None, entry
    return {
        datetime.fromisoformat(slot["startAt"])
        for slot in entry["slots"]
        if slot["resource"]["networkId"] == network.loan.resource
    }


def test_every_rule_reads_back_exactly_as_written_and_reaches_the_owner(network: Network) -> None:
    rules = {
        "weekdays": [2, 4, 6],
        "from": "09:30",
        "until": "16:45",
        "max_hours_per_week": 12,
        "lead_time_hours": 24,
        "priority": 2,
        "notes": "Tuesdays mostly;\nask Sam first",
    }
    payload = share(network, rules)

    assert payload["errors"] == [], payload
    expected = {
        "weekdays": [2, 4, 6],
        "availableFrom": "09:30",
        "availableUntil": "16:45",
        "maxHoursPerWeek": 12,
        "leadTimeHours": 24,
        "priority": 2,
        "notes": "Tuesdays mostly;\nask Sam first",
    }
    borrower = f"Location:{network.loan.borrower}"
    [answered] = [s["rules"] for s in payload["resource"]["sharedWith"] if s["location"]["id"] == borrower]
    read = network.gateway.graphql(SHARED_WITH, {"id": f"Resource:{network.loan.resource}"})["data"]["node"]
    [read_back] = [s["rules"] for s in read["sharedWith"] if s["location"]["id"] == borrower]
    assert answered == read_back == expected
    owner_store = network.gateway.store(network.loan.owner)
    assert owner_store.shares[network.loan.local_resource, network.loan.borrower] == rules


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"days": [1, 2]}, "rules.days"),
        ({"weekday": [1]}, "rules.weekday"),
        ({"weekdays": [0]}, "rules.weekdays"),
        ({"weekdays": [8]}, "rules.weekdays"),
        ({"weekdays": [1, 1]}, "rules.weekdays"),
        ({"weekdays": []}, "rules.weekdays"),
        ({"weekdays": ["mon"]}, "rules.weekdays"),
        ({"weekdays": [True]}, "rules.weekdays"),
        ({"from": "9:00"}, "rules.from"),
        ({"from": "24:00"}, "rules.from"),
        ({"until": "12:60"}, "rules.until"),
        ({"from": "13:00", "until": "09:00"}, "rules.until"),
        ({"from": "10:00", "until": "10:00"}, "rules.until"),
        ({"max_hours_per_week": 169}, "rules.max_hours_per_week"),
        ({"max_hours_per_week": -1}, "rules.max_hours_per_week"),
        ({"max_hours_per_week": 7.5}, "rules.max_hours_per_week"),
        ({"lead_time_hours": 2161}, "rules.lead_time_hours"),
        ({"lead_time_hours": "24"}, "rules.lead_time_hours"),
        ({"priority": 0}, "rules.priority"),
        ({"notes": "n" * 501}, "rules.notes"),
        ({"notes": "a\x00b"}, "rules"),  # no JSON the gateway stores holds a NUL
    ],
)
def test_a_rule_out_of_range_is_invalid_input_naming_it_and_writes_nothing(
    network: Network, rules: dict[str, Any], field: str
) -> None:
    lend(network, {"weekdays": [1, 2], "max_hours_per_week": 8})
    before = cache_counts(network.gateway), network.gateway.store(network.loan.owner).shares.copy()

    payload = share(network, rules)

    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)], payload
    assert payload["outcomes"] == [] and payload["resource"] is None
    assert (cache_counts(network.gateway), network.gateway.store(network.loan.owner).shares) == before
    read = network.gateway.graphql(SHARED_WITH, {"id": f"Resource:{network.loan.resource}"})["data"]["node"]
    borrower = f"Location:{network.loan.borrower}"
    [kept] = [s["rules"] for s in read["sharedWith"] if s["location"]["id"] == borrower]
    assert (kept["weekdays"], kept["maxHoursPerWeek"]) == ([1, 2], 8)


def test_the_borrower_cannot_book_on_a_weekday_the_resource_is_not_lent(network: Network) -> None:
    day = tuesday(0)
    lend(network, {"weekdays": [2]})
    before = bookings_of(network.gateway, network.loan.resource)

    refused_naming(book(network, network.loan.at(day + timedelta(days=1), "11:00")), "weekdays")
    assert bookings_of(network.gateway, network.loan.resource) == before

    allowed = book(network, network.loan.at(day, "11:00"))
    booked(allowed)
    assert allowed["booking"]["resource"]["id"] == f"Resource:{network.loan.resource}"


def test_the_borrower_books_only_inside_the_hours_window_on_the_owner_s_clock(network: Network) -> None:
    day = tuesday(1)
    lend(network, {"from": "10:00", "until": "12:00"})
    loan = network.loan

    refused_naming(book(network, loan.at(day, "09:30")), "hours")
    refused_naming(book(network, loan.at(day, "12:00") - loan.duration + timedelta(minutes=15)), "hours")
    booked(book(network, loan.at(day, "10:00")))
    booked(book(network, loan.at(day, "12:00") - loan.duration))


def test_the_borrower_must_book_the_lead_time_ahead(network: Network) -> None:
    start = network.loan.at(tuesday(2), "11:00")
    hours_ahead = (start - datetime.now(UTC)) // timedelta(hours=1)
    lend(network, {"lead_time_hours": hours_ahead + 24})

    refused_naming(book(network, start), "lead_time")

    lend(network, {"lead_time_hours": hours_ahead - 24})
    booked(book(network, start))


def test_the_weekly_maximum_counts_the_borrower_s_bookings_in_the_iso_week_not_the_owner_s(network: Network) -> None:
    loan = network.loan
    monday = tuesday(3) - timedelta(days=1)
    minutes = int(loan.duration / timedelta(minutes=1))
    cap_hours = -(-minutes // 60)  # at least one booking fits
    fits = cap_hours * 60 // minutes
    lend(network, {"max_hours_per_week": cap_hours, "from": "09:00", "until": "17:00"})
    # The owner's own bookings of it that week use none of the borrower's hours.
    booked(book(network, loan.at(monday + timedelta(days=3), "12:00"), at_owner=True))

    for index in range(fits):
        booked(book(network, loan.at(monday, "10:00") + index * loan.duration))
    refused_naming(book(network, loan.at(monday + timedelta(days=4), "10:00")), "max_hours_per_week")
    # Nor is it offered there that week any more, while its owner still offers it.
    assert free_starts(network, loan.borrower, loan.borrower_service, monday + timedelta(days=2)) == set()
    assert free_starts(network, loan.owner, loan.owner_service, monday + timedelta(days=2))
    # The next ISO week starts afresh.
    booked(book(network, loan.at(monday + timedelta(days=7), "10:00")))


def test_availability_offers_the_borrower_only_slots_within_the_rules(network: Network) -> None:
    loan = network.loan
    day = tuesday(5)
    lend(network, {})
    unbound = free_starts(network, loan.borrower, loan.borrower_service, day + timedelta(days=1))
    assert unbound, "without rules the borrower offers the lent resource on Wednesday"

    lend(network, {"weekdays": [2], "from": "10:00", "until": "12:00"})

    tuesday_starts = free_starts(network, loan.borrower, loan.borrower_service, day)
    assert tuesday_starts
    assert all(
        loan.at(day, "10:00") <= start and start + loan.duration <= loan.at(day, "12:00") for start in tuesday_starts
    )
    assert free_starts(network, loan.borrower, loan.borrower_service, day + timedelta(days=1)) == set()
    # The owner offers it outside the borrower's rules.
    owner_starts = free_starts(network, loan.owner, loan.owner_service, day + timedelta(days=1))
    assert any(start < loan.at(day + timedelta(days=1), "10:00") for start in owner_starts)
    assert any(start >= loan.at(day + timedelta(days=1), "12:00") for start in owner_starts)


def test_the_owner_books_its_own_resource_outside_the_rules_it_lends_it_under(network: Network) -> None:
    start = network.loan.at(tuesday(2) + timedelta(days=1), "16:00")  # a Wednesday afternoon
    hours_ahead = (start - datetime.now(UTC)) // timedelta(hours=1)
    lend(
        network,
        {
            "weekdays": [2],
            "from": "10:00",
            "until": "12:00",
            "max_hours_per_week": 0,
            "lead_time_hours": hours_ahead + 1,
        },
    )

    refused_naming(book(network, start), "lead_time")
    owners = book(network, start, at_owner=True)

    booked(owners)
    assert owners["booking"]["serviceLocation"]["id"] == f"Location:{network.loan.owner}"


def test_rescheduling_at_the_borrower_keeps_to_the_rules_and_counts_the_booking_once(network: Network) -> None:
    loan = network.loan
    day = tuesday(6)
    minutes = int(loan.duration / timedelta(minutes=1))
    cap_hours = -(-minutes // 60)
    lend(network, {"weekdays": [2, 3], "max_hours_per_week": cap_hours})
    # The borrower's bookings fill the week's maximum.
    booking_id, *_ = [
        booked(book(network, loan.at(day, "10:00") + index * loan.duration))
        for index in range(cap_hours * 60 // minutes)
    ]

    def move(start: datetime) -> dict[str, Any]:
        fields = {"idempotencyKey": _key(), "bookingId": booking_id, "startAt": start.isoformat()}
        body = network.gateway.graphql(RESCHEDULE, {"input": fields}, headers=network.borrower_manager)
        payload: dict[str, Any] = body["data"]["rescheduleBooking"]
        return payload

    refused_naming(move(loan.at(day + timedelta(days=2), "10:00")), "weekdays")
    [(_, start, _)] = [b for b in bookings_of(network.gateway, loan.resource) if f"Booking:{b[0]}" == booking_id]
    assert start == loan.at(day, "10:00")
    # Still within the week's maximum: the booking being moved does not count against itself.
    moved = move(loan.at(day + timedelta(days=1), "11:00"))
    assert moved["errors"] == [] and datetime.fromisoformat(moved["booking"]["startAt"]) == loan.at(
        day + timedelta(days=1), "11:00"
    )


def test_a_transfer_to_the_borrower_is_refused_when_only_the_lent_resource_is_free_outside_its_rules(
    network: Network,
) -> None:
    loan = network.loan
    wednesday = tuesday(7) + timedelta(days=1)
    start = loan.at(wednesday, "11:00")
    lend(network, {"weekdays": [2]})
    for own in loan.borrower_staff:  # the borrower's own staff are all busy then
        booked(book(network, start, resourceId=f"Resource:{own}"))
    original = booked(book(network, loan.at(wednesday, "15:00"), at_owner=True))

    def transfer(at: datetime) -> dict[str, Any]:
        fields = {
            "idempotencyKey": _key(),
            "bookingId": original,
            "toLocationId": f"Location:{loan.borrower}",
            "startAt": at.isoformat(),
            "approved": True,
        }
        payload: dict[str, Any] = network.gateway.graphql(TRANSFER, {"input": fields})["data"]["transferBooking"]
        return payload

    refused = transfer(start)
    [error] = refused["errors"]
    assert (error["code"], error["sharingRule"]) == ("SLOT_UNAVAILABLE", "WEEKDAYS"), refused
    [kept] = [status for key, _, status in bookings_of(network.gateway, loan.resource) if original == f"Booking:{key}"]
    assert kept != "cancelled"

    moved = transfer(loan.at(wednesday - timedelta(days=1), "11:00"))
    assert moved["errors"] == [] and moved["booking"]["serviceLocation"]["id"] == f"Location:{loan.borrower}", moved
    assert moved["originalBooking"]["status"] == "CANCELLED"
