"""Data subject requests: exportCustomerData (everything the network holds, locations asked live) and
eraseCustomer (anonymised in the cache and at every location through the outbox, suppressed afterwards).

Over real HTTP against the demo network's simulated locations, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest
from live_helpers import wait_for
from sqlalchemy import func, select
from sync_helpers import customer_row, local_customer_id, settle, trigger

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id
from sources.cache.models import (
    Booking,
    Customer,
    CustomerMapping,
    CustomerSuppression,
    DataSubjectRequest,
    OutboxMessage,
    RevenueEntry,
)
from sync.conflicts.detect import ConflictPolicy
from sync.types import Strategy

A, B = "manchester-central", "stockport-merseyway"

EXPORT = """
mutation Export($input: ExportCustomerDataInput!) {
  exportCustomerData(input: $input) {
    document
    request { kind status dueAt requestedAt outcomes { location { networkId } status detail } }
    errors { code field message }
  }
}
"""

ERASE = """
mutation Erase($input: EraseCustomerInput!) {
  eraseCustomer(input: $input) {
    request { kind status dueAt requestedAt outcomes { location { networkId } status detail } }
    outcomes { location { networkId } status }
    errors { code field message }
  }
}
"""

REQUESTS = """
query Requests($id: ID!) {
  customer(id: $id) {
    firstName lastName email phone
    dataSubjectRequests { kind status completedAt outcomes { location { networkId } status } }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateCustomerInput!) { updateCustomer(input: $input) { errors { code message } } }
"""

REVENUE = """
query Revenue($from: Date!, $to: Date!) {
  revenue(from: $from, to: $to, groupBy: LOCATION) {
    rows { location { id } gross { amount currency } net { amount } bookingCount }
    totals { gross { amount currency } net { amount } bookingCount }
  }
}
"""


def _input(customer_id: str) -> dict[str, Any]:
    return {"idempotencyKey": f"dsr-{uuid.uuid4().hex}", "customerId": to_global_id("Customer", customer_id)}


def _booked_customer(gateway: RunningGateway, offset: int) -> str:
    """A customer at home at A, known at B too, with bookings; `offset` picks another one."""

    async def find() -> str:
        at_b = select(CustomerMapping.customer_id).where(CustomerMapping.location_id == B)
        async with gateway.engine.connect() as connection:
            found = await connection.execute(
                select(Customer.id)
                .join(Booking, Booking.customer_id == Customer.id)
                .where(Customer.primary_location_id == A, Customer.id.in_(at_b))
                .group_by(Customer.id)
                .order_by(func.count(Booking.id).desc(), Customer.id)
                .offset(offset)
                .limit(1)
            )
            return str(found.scalar_one())

    return gateway.run(find())


def _scalar(gateway: RunningGateway, statement: Any) -> Any:
    async def run() -> Any:
        async with gateway.engine.connect() as connection:
            return (await connection.execute(statement)).scalar()

    return gateway.run(run())


def _booking_details(gateway: RunningGateway, customer_id: str) -> set[tuple[str, Any]]:
    """The customer's bookings' (notes, source details), as the cache holds them."""

    async def rows() -> set[tuple[str, Any]]:
        async with gateway.engine.connect() as connection:
            found = await connection.execute(
                select(Booking.notes, Booking.source_details).where(Booking.customer_id == customer_id)
            )
            return {(notes, json.dumps(details, sort_keys=True) if details else None) for notes, details in found}

    return gateway.run(rows())


def _revenue_days(gateway: RunningGateway) -> dict[str, str]:
    async def days() -> dict[str, str]:
        async with gateway.engine.connect() as connection:
            low, high = (
                await connection.execute(
                    select(func.min(RevenueEntry.business_date), func.max(RevenueEntry.business_date))
                )
            ).one()
        return {"from": low.isoformat(), "to": high.isoformat()}

    return gateway.run(days())


def test_an_export_holds_the_cache_and_each_locations_live_answer(live_gateway: RunningGateway) -> None:
    customer_id = _booked_customer(live_gateway, offset=0)
    cached = customer_row(live_gateway, customer_id)
    at_b = local_customer_id(live_gateway, customer_id, B)

    answer = live_gateway.graphql(EXPORT, {"input": _input(customer_id)})["data"]["exportCustomerData"]
    assert answer["errors"] == []
    document = answer["document"]
    assert (document["customer"]["email"], document["customer"]["last_name"]) == (cached.email, cached.last_name)
    assert {identity["location_id"] for identity in document["identities"]} >= {A, B}
    live_b = document["locations"][B]
    assert live_b["status"] == "ok"
    assert live_b["record"]["local_id"] == at_b
    assert live_b["record"]["first_name"] == live_gateway.store(B).customers[at_b].first_name
    bookings = _scalar(live_gateway, select(func.count(Booking.id)).where(Booking.customer_id == customer_id))
    assert len(document["bookings"]) == bookings > 0
    booked = {booking["id"] for booking in document["bookings"]}
    assert document["revenue"] and {line["booking_id"] for line in document["revenue"]} <= booked
    assert document["request"]["kind"] == "export"
    request = answer["request"]
    assert (request["kind"], request["status"]) == ("EXPORT", "COMPLETED")
    assert {(o["location"]["networkId"], o["status"]) for o in request["outcomes"]} >= {(A, "OK"), (B, "OK")}


def test_an_export_while_a_location_is_down_says_so_and_holds_the_rest(live_gateway: RunningGateway) -> None:
    customer_id = _booked_customer(live_gateway, offset=4)
    simulator = live_gateway.simulator(B)
    live_gateway.run(simulator.stop())
    try:
        answer = live_gateway.graphql(EXPORT, {"input": _input(customer_id)})["data"]["exportCustomerData"]
    finally:
        live_gateway.run(simulator.start())
    assert answer["errors"] == []
    locations = answer["document"]["locations"]
    assert (locations[A]["status"], locations[B]["status"]) == ("ok", "unavailable")
    assert locations[A]["record"]["local_id"] == local_customer_id(live_gateway, customer_id, A)
    assert answer["document"]["customer"]["id"] == customer_id


def test_a_customer_exports_their_own_data_and_no_one_elses(live_gateway: RunningGateway) -> None:
    own, other = _booked_customer(live_gateway, offset=1), _booked_customer(live_gateway, offset=2)
    issue = live_gateway.app.state.authenticator.issue
    token = live_gateway.run(issue(Role.CUSTOMER, subject=f"customer-{own}", customer_id=own))
    headers = {"Authorization": f"Bearer {token}"}

    mine = live_gateway.graphql(EXPORT, {"input": _input(own)}, headers=headers)["data"]["exportCustomerData"]
    assert mine["errors"] == [] and mine["document"]["customer"]["id"] == own
    before = _scalar(live_gateway, select(func.count(DataSubjectRequest.id)))
    theirs = live_gateway.graphql(EXPORT, {"input": _input(other)}, headers=headers)["data"]["exportCustomerData"]
    assert [error["code"] for error in theirs["errors"]] == ["NOT_FOUND"] and theirs["document"] is None
    erase = live_gateway.graphql(ERASE, {"input": _input(own)}, headers=headers)
    assert [error["extensions"]["code"] for error in erase["errors"]] == ["FORBIDDEN"]
    assert _scalar(live_gateway, select(func.count(DataSubjectRequest.id))) == before


@pytest.mark.parametrize(
    ("customer_id", "code", "field"),
    [("Customer:" + "x" * 70, "INVALID_INPUT", "customerId"), ("Booking:bkg_1", "INVALID_ID", "customerId")],
)
def test_a_bad_erasure_request_is_a_typed_error_that_writes_nothing(
    live_gateway: RunningGateway, customer_id: str, code: str, field: str
) -> None:
    before = _scalar(live_gateway, select(func.count(DataSubjectRequest.id)))
    answer = live_gateway.graphql(ERASE, {"input": {"idempotencyKey": uuid.uuid4().hex, "customerId": customer_id}})
    assert [(e["code"], e["field"]) for e in answer["data"]["eraseCustomer"]["errors"]] == [(code, field)]
    assert _scalar(live_gateway, select(func.count(DataSubjectRequest.id))) == before


def test_an_erasure_reaches_every_location_once_also_one_that_was_down(live_gateway: RunningGateway) -> None:
    customer_id = _booked_customer(live_gateway, offset=3)
    email = customer_row(live_gateway, customer_id).email
    locals_ = {location: local_customer_id(live_gateway, customer_id, location) for location in (A, B)}
    versions = {location: live_gateway.store(location).customers[local].version for location, local in locals_.items()}
    revenue_days = _revenue_days(live_gateway)
    revenue_before = live_gateway.graphql(REVENUE, revenue_days)["data"]["revenue"]

    simulator = live_gateway.simulator(B)
    live_gateway.run(simulator.stop())
    try:
        erased = live_gateway.graphql(ERASE, {"input": _input(customer_id)})["data"]["eraseCustomer"]
    finally:
        live_gateway.run(simulator.start())
    assert erased["errors"] == []
    outcomes = {o["location"]["networkId"]: o["status"] for o in erased["outcomes"]}
    assert (outcomes[A], outcomes[B]) == ("DELIVERED", "QUEUED")
    assert erased["request"]["kind"] == "ERASURE"

    store_a, store_b = live_gateway.store(A), live_gateway.store(B)
    assert (store_a.customers[locals_[A]].email, store_a.customers[locals_[A]].last_name) == (None, "Customer")
    wait_for(lambda: store_b.customers[locals_[B]].email is None, 20, "the erasure to reach B once it is back")
    settle(live_gateway)
    for location, local in locals_.items():
        held = live_gateway.store(location).customers[local]
        assert (held.first_name, held.last_name, held.email, held.phone) == ("Erased", "Customer", None, None)
        assert held.version == versions[location] + 1, f"{location} applied the erasure more than once"
        sent = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.entity_id == customer_id,
            OutboxMessage.location_id == location,
            OutboxMessage.operation == "customer.erase",
        )
        assert _scalar(live_gateway, sent) == 1

    after = live_gateway.graphql(REQUESTS, {"id": to_global_id("Customer", customer_id)})["data"]["customer"]
    assert (after["firstName"], after["lastName"], after["email"], after["phone"]) == ("Erased", "Customer", None, None)
    request = after["dataSubjectRequests"][-1]
    assert (request["kind"], request["status"]) == ("ERASURE", "COMPLETED")
    assert {(o["location"]["networkId"], o["status"]) for o in request["outcomes"]} >= {
        (A, "DELIVERED"),
        (B, "DELIVERED"),
    }
    assert live_gateway.graphql(REVENUE, revenue_days)["data"]["revenue"] == revenue_before

    # The locations hold the person again (a receptionist retypes them and notes them on a booking; a new record
    # with the old email):
    # neither a full sync nor the next delta brings anything personal back.
    store_a.edit_customer(locals_[A], first_name="Returned", email=email)
    booked_at_a = select(Booking.local_booking_id).where(
        Booking.customer_id == customer_id, Booking.service_location_id == A
    )
    store_a.edit_booking(_scalar(live_gateway, booked_at_a.limit(1)), notes=f"ask for {email}")
    store_b.once(None, lambda: store_b.new_customer({"first_name": "Again", "last_name": "Back", "email": email}))
    rule_book = live_gateway.app.state.services.sync.rule_book
    rules = rule_book.current
    # The location's side wins every conflict now: still nothing of the person may come back.
    rule_book.current = dataclasses.replace(rules, policy=ConflictPolicy(Strategy.NODE_WINS))
    try:
        for location in (A, B):
            job = trigger(live_gateway, location, ["CUSTOMER", "BOOKING"], full=True)
            assert job["status"] == "COMPLETED", job
        settle(live_gateway)
    finally:
        rule_book.current = rules
    assert _booking_details(live_gateway, customer_id) == {("", None)}
    row = customer_row(live_gateway, customer_id)
    assert (row.first_name, row.last_name, row.email, row.phone) == ("Erased", "Customer", None, None)
    assert (
        _scalar(live_gateway, select(func.count(Customer.id)).where(func.lower(Customer.email) == email.lower())) == 0
    )
    assert (
        _scalar(
            live_gateway,
            select(func.count()).select_from(CustomerSuppression).where(CustomerSuppression.customer_id == customer_id),
        )
        == 1
    )

    again = live_gateway.graphql(ERASE, {"input": _input(customer_id)})["data"]["eraseCustomer"]
    assert [error["code"] for error in again["errors"]] == ["CONFLICT"]
    update = live_gateway.graphql(UPDATE, {"input": {**_input(customer_id), "firstName": "Restored"}})
    assert [error["code"] for error in update["data"]["updateCustomer"]["errors"]] == ["CONFLICT"]
    assert customer_row(live_gateway, customer_id).first_name == "Erased"
