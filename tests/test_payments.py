"""Money that reconciles: a booking's revenue entries follow what its location reports of the payment (a BookingX
pull, a OneBooking push, a BookingX webhook), and `paymentReconciliation` (the Booksy shim's reconciliation too)
sets what each location reports as paid against the network's entries, with every mismatch and both sides.

A gateway of its own per backend (these tests change the network); the locations are the demo's simulators.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bookingx_helpers import Node
from onebooking_helpers import credential
from sqlalchemy import select
from sync_helpers import trigger

from conftest import RunningGateway
from devnet.simulators.onebooking import OneBookingPusher
from identity.principal import Role
from resolvers.ids import to_global_id
from sources.cache.models import Booking

MANCHESTER = "manchester-central"  # BookingX
LEEDS = "leeds-headingley"
SALFORD = "salford-quays"  # a OneBooking website

SHARES = """
query Shares($id: ID!) {
  booking(id: $id) { status revenueSplit { paymentStatus paidAt amount { minorUnits currency } } }
}
"""

RECONCILIATION = """
query Reconciliation($location: ID!, $from: Date!, $to: Date!) {
  paymentReconciliation(locationId: $location, from: $from, to: $to) {
    from to mismatchCount location { networkId }
    totals { bookingCount bookings { minorUnits currency } revenue { minorUnits } reportedPaid { minorUnits }
             networkPaid { minorUnits } paidDifference { minorUnits } refunded { minorUnits }
             writtenOff { minorUnits } }
    mismatches { bookingId localBookingId status problem price { minorUnits } revenue { minorUnits }
                 networkPaymentStatus reportedPayment reportedPaid { minorUnits } }
  }
}
"""

REVENUE = """
query Revenue($from: Date!, $to: Date!, $locations: [ID!]) {
  revenue(from: $from, to: $to, locationIds: $locations) { totals { gross { minorUnits } bookingCount } }
}
"""


def _confirmed_bookings(gateway: RunningGateway, location_id: str, count: int) -> list[Any]:
    """Bookings the location serves, confirmed and not yet paid, booked there (their revenue is the location's)."""

    async def rows() -> list[Any]:
        async with gateway.engine.connect() as connection:
            found = await connection.execute(
                select(*Booking.__table__.c)
                .where(
                    Booking.service_location_id == location_id,
                    Booking.originating_location_id == location_id,
                    Booking.status == "confirmed",
                    Booking.reported_payment.is_(None),
                )
                .order_by(Booking.start_at, Booking.id)
                .limit(count)
            )
            return list(found.all())

    found = gateway.run(rows())
    assert len(found) == count, f"the demo has too few confirmed bookings at {location_id}"
    return found


def _shares(gateway: RunningGateway, booking_id: str) -> dict[str, Any]:
    body = gateway.graphql(SHARES, {"id": to_global_id("Booking", booking_id)})
    assert "errors" not in body, body
    booking: dict[str, Any] = body["data"]["booking"]
    return booking


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _reconcile(gateway: RunningGateway, location_id: str, start: str, end: str, **kwargs: Any) -> dict[str, Any]:
    variables = {"location": to_global_id("Location", location_id), "from": start, "to": end}
    return gateway.graphql(RECONCILIATION, variables, **kwargs)


def test_a_payment_taken_at_a_bookingx_location_marks_the_booking_s_revenue_paid_after_a_pull(
    live_gateway: RunningGateway,
) -> None:
    (booking,) = _confirmed_bookings(live_gateway, MANCHESTER, 1)
    assert {share["paymentStatus"] for share in _shares(live_gateway, booking.id)["revenueSplit"]} == {"pending"}

    live_gateway.store(MANCHESTER).take_payment(booking.local_booking_id)
    trigger(live_gateway, MANCHESTER, ["BOOKING"])

    shares = _shares(live_gateway, booking.id)["revenueSplit"]
    assert [share["paymentStatus"] for share in shares] == ["paid"]
    assert shares[0]["paidAt"] is not None
    assert shares[0]["amount"]["minorUnits"] == booking.price_minor


def test_a_payment_a_bookingx_node_reports_by_webhook_marks_the_revenue_paid(live_gateway: RunningGateway) -> None:
    (booking,) = _confirmed_bookings(live_gateway, MANCHESTER, 1)
    node = Node(live_gateway, MANCHESTER).connect()
    live_gateway.store(MANCHESTER).take_payment(booking.local_booking_id)
    answer = node.deliver("booking-created", node.webhooks.booking_created(booking.local_booking_id))
    assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text
    assert [share["paymentStatus"] for share in _shares(live_gateway, booking.id)["revenueSplit"]] == ["paid"]


def test_a_booking_cancelled_after_payment_is_written_off_and_leaves_the_revenue_report(
    live_gateway: RunningGateway,
) -> None:
    (booking,) = _confirmed_bookings(live_gateway, MANCHESTER, 1)
    day = _day(booking.start_at)
    period = {"from": day, "to": day, "locations": [to_global_id("Location", MANCHESTER)]}
    before = live_gateway.graphql(REVENUE, period)["data"]["revenue"]["totals"]
    store = live_gateway.store(MANCHESTER)
    store.take_payment(booking.local_booking_id)
    store.edit_booking(booking.local_booking_id, status="cancelled")
    trigger(live_gateway, MANCHESTER, ["BOOKING"])

    after = _shares(live_gateway, booking.id)
    assert after["status"] == "CANCELLED"
    assert [share["paymentStatus"] for share in after["revenueSplit"]] == ["written_off"]
    totals = live_gateway.graphql(REVENUE, period)["data"]["revenue"]["totals"]
    assert sum(t["gross"]["minorUnits"] for t in totals) == sum(t["gross"]["minorUnits"] for t in before) - (
        booking.price_minor
    )
    reconciled = _reconcile(live_gateway, MANCHESTER, day, day)["data"]["paymentReconciliation"]
    (mismatch,) = [m for m in reconciled["mismatches"] if m["localBookingId"] == booking.local_booking_id]
    assert mismatch["problem"] == "PAID_BUT_CANCELLED"
    assert (mismatch["networkPaymentStatus"], mismatch["reportedPayment"]) == ("written_off", "paid")
    assert reconciled["totals"][0]["writtenOff"]["minorUnits"] >= booking.price_minor


def test_an_unpaid_cancellation_keeps_no_revenue_at_all(live_gateway: RunningGateway) -> None:
    (booking,) = _confirmed_bookings(live_gateway, MANCHESTER, 1)
    live_gateway.store(MANCHESTER).edit_booking(booking.local_booking_id, status="cancelled")
    trigger(live_gateway, MANCHESTER, ["BOOKING"])
    assert _shares(live_gateway, booking.id)["revenueSplit"] == []


@pytest.mark.asyncio
async def test_a_onebooking_website_s_paid_push_and_its_refund_event_mark_the_revenue_paid_then_refunded(
    live_gateway: RunningGateway,
) -> None:
    store = live_gateway.store(SALFORD)
    service = next(s for s in sorted(store.services.values(), key=lambda s: s.local_id) if store.eligible_resources(s))
    day = datetime(2031, 6, 9, tzinfo=store.zone)
    resource, start, end = store.free_slots(service.local_id, day, day + timedelta(days=1))[0]
    made = store.create_booking(
        key=None,
        local_customer_id=None,
        customer={"first_name": "Pat", "last_name": "Payer", "email": "pat.payer@example.com"},
        local_service_id=service.local_id,
        local_resource_id=resource,
        start_at=start,
        end_at=end,
        price_minor=service.price_minor,
        currency=store.currency,
    )
    store.take_payment(made.local_id)
    pusher = OneBookingPusher(
        store,
        gateway_url=live_gateway.url,
        api_key=credential(live_gateway, SALFORD, "inbound_api_key"),
        website=SALFORD,
        retry_delays=(),
    )
    created = await pusher.push(made.local_id, "booking.created")
    assert created.status_code == 200, created.text
    booking_id = created.json()["booking_id"]
    assert [share["paymentStatus"] for share in _shares(live_gateway, booking_id)["revenueSplit"]] == ["paid"]

    store.refund_booking(made.local_id)
    refunded = await pusher.push(made.local_id, "booking.refunded")
    assert refunded.status_code == 200, refunded.text
    after = _shares(live_gateway, booking_id)
    assert after["status"] == "CANCELLED"
    assert [share["paymentStatus"] for share in after["revenueSplit"]] == ["refunded"]

    reconciled = _reconcile(live_gateway, SALFORD, _day(start), _day(start))["data"]["paymentReconciliation"]
    assert all(m["localBookingId"] != made.local_id for m in reconciled["mismatches"])  # a refund settles it
    assert reconciled["totals"][0]["refunded"]["minorUnits"] >= made.price_minor


def test_reconciliation_lists_a_payment_of_another_amount_and_an_unpaid_completed_booking_with_both_sides(
    live_gateway: RunningGateway,
) -> None:
    short, unpaid = _confirmed_bookings(live_gateway, MANCHESTER, 2)
    start, end = sorted((_day(short.start_at), _day(unpaid.start_at)))
    (before,) = _reconcile(live_gateway, MANCHESTER, start, end)["data"]["paymentReconciliation"]["totals"]
    store = live_gateway.store(MANCHESTER)
    store.take_payment(short.local_booking_id, paid_minor=short.price_minor - 100)
    store.edit_booking(unpaid.local_booking_id, status="completed")
    trigger(live_gateway, MANCHESTER, ["BOOKING"])

    reconciled = _reconcile(live_gateway, MANCHESTER, start, end)["data"]["paymentReconciliation"]
    found = {m["localBookingId"]: m for m in reconciled["mismatches"]}
    assert found[short.local_booking_id] == {
        "bookingId": to_global_id("Booking", short.id),
        "localBookingId": short.local_booking_id,
        "status": "confirmed",
        "problem": "PAID_AMOUNT_DIFFERS",
        "price": {"minorUnits": short.price_minor},
        "revenue": {"minorUnits": short.price_minor},
        "networkPaymentStatus": "paid",
        "reportedPayment": "paid",
        "reportedPaid": {"minorUnits": short.price_minor - 100},
    }
    assert found[unpaid.local_booking_id]["problem"] == "UNPAID_AFTER_SERVICE"
    assert found[unpaid.local_booking_id]["reportedPayment"] is None
    assert reconciled["mismatchCount"] >= 2
    (gbp,) = reconciled["totals"]
    assert gbp["bookings"]["currency"] == "GBP"
    assert gbp["paidDifference"]["minorUnits"] == gbp["networkPaid"]["minorUnits"] - gbp["reportedPaid"]["minorUnits"]
    # The network recorded the price as paid, the location 1.00 less.
    assert gbp["reportedPaid"]["minorUnits"] - before["reportedPaid"]["minorUnits"] == short.price_minor - 100
    assert gbp["paidDifference"]["minorUnits"] - before["paidDifference"]["minorUnits"] == 100


def test_the_booksy_reconciliation_endpoint_answers_what_payment_reconciliation_answers(
    live_gateway: RunningGateway,
) -> None:
    graphql = _reconcile(live_gateway, LEEDS, "2026-01-01", "2026-12-31")["data"]["paymentReconciliation"]
    rest = httpx.get(
        f"{live_gateway.url}/api/admin/booksy/reconciliation",
        params={"location": LEEDS, "from": "2026-01-01", "to": "2026-12-31"},
        headers=live_gateway.headers,
    )
    assert rest.status_code == 200, rest.text
    answer = rest.json()
    assert answer["mismatch_count"] == graphql["mismatchCount"]
    assert [m["problem"].upper() for m in answer["mismatches"]] == [m["problem"] for m in graphql["mismatches"]]
    assert [(t["reported_paid_minor"], t["network_paid_minor"]) for t in answer["totals"]] == [
        (t["reportedPaid"]["minorUnits"], t["networkPaid"]["minorUnits"]) for t in graphql["totals"]
    ]


def test_a_location_manager_reconciles_their_own_location_only(live_gateway: RunningGateway) -> None:
    issue = live_gateway.app.state.authenticator.issue
    token = live_gateway.run(issue(Role.LOCATION_MANAGER, subject="pay-manager", locations=[MANCHESTER]))
    headers = {"Authorization": f"Bearer {token}"}
    own = _reconcile(live_gateway, MANCHESTER, "2026-01-01", "2026-03-31", headers=headers)
    assert "errors" not in own, own
    elsewhere = _reconcile(live_gateway, LEEDS, "2026-01-01", "2026-03-31", headers=headers)
    assert elsewhere["data"] is None
    assert [error["extensions"]["code"] for error in elsewhere["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("start", "end", "location", "code"),
    [
        ("2026-03-01", "2026-01-01", MANCHESTER, "INVALID_INPUT"),  # backwards
        ("2026-01-01", "2027-06-01", MANCHESTER, "INVALID_INPUT"),  # more than 366 days
        ("1066-01-01", "1066-01-02", MANCHESTER, "INVALID_INPUT"),  # out of range
        ("2026-01-01", "2026-01-02", "no-such-place", "NOT_FOUND"),
    ],
)
def test_bad_reconciliation_arguments_are_typed_errors(
    live_gateway: RunningGateway, start: str, end: str, location: str, code: str
) -> None:
    body = _reconcile(live_gateway, location, start, end)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
