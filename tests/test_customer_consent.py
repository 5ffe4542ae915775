"""Consent records (recordConsent, withdrawConsent, Customer.currentConsents / consentHistory) and their
enforcement: a customer's data goes to another location only with a data-sharing consent in force.

Over real HTTP against the demo network's simulated locations, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from live_helpers import wait_for
from sqlalchemy import func, insert, select, update
from sync_helpers import local_customer_id, settle, trigger

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id
from sources.cache.models import AuditEntry, ConsentRecord, Customer, CustomerMapping, OutboxMessage
from sources.cache.types import utc_now

A, B = "manchester-central", "stockport-merseyway"

RECORD = """
mutation Record($input: RecordConsentInput!) {
  recordConsent(input: $input) {
    consent { purpose granted inForce expiresAt recordedBy recordedByRole channel ipAddress userAgent
              location { networkId } }
    heldAt { networkId }
    errors { code field message }
  }
}
"""

WITHDRAW = """
mutation Withdraw($input: ConsentInput!) {
  withdrawConsent(input: $input) {
    consent { purpose granted inForce }
    heldAt { networkId }
    errors { code field message }
  }
}
"""

CONSENTS = """
query Consents($id: ID!) {
  customer(id: $id) {
    currentConsents { purpose granted inForce channel }
    consentHistory { purpose granted recordedBy channel ipAddress }
  }
}
"""

UPDATE = """
mutation Update($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { outcomes { location { networkId } status } errors { code message } }
}
"""


def _consent(customer_id: str, purpose: str = "DATA_SHARING", **extra: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": f"consent-{uuid.uuid4().hex}",
        "customerId": to_global_id("Customer", customer_id),
        "purpose": purpose,
        "channel": "IN_PERSON",
        **extra,
    }


def _customer_headers(gateway: RunningGateway, customer_id: str) -> dict[str, str]:
    issue = gateway.app.state.authenticator.issue
    token = gateway.run(issue(Role.CUSTOMER, subject=f"customer-{customer_id}", customer_id=customer_id))
    return {"Authorization": f"Bearer {token}"}


def _count(gateway: RunningGateway, model: Any, *where: Any) -> int:
    async def count() -> int:
        async with gateway.engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    return gateway.run(count())


def _shared_customer(gateway: RunningGateway, offset: int) -> tuple[str, str, str]:
    """A customer at home at A and known at B too: (id, home, the other location); `offset` picks another one."""

    async def find() -> str:
        at_b = select(CustomerMapping.customer_id).where(CustomerMapping.location_id == B)
        async with gateway.engine.connect() as connection:
            found = await connection.execute(
                select(Customer.id)
                .where(Customer.primary_location_id == A, Customer.id.in_(at_b))
                .order_by(Customer.id)
                .offset(offset)
                .limit(1)
            )
            return str(found.scalar_one())

    return gateway.run(find()), A, B


def _update(gateway: RunningGateway, customer_id: str, last_name: str) -> set[str]:
    answer = gateway.graphql(
        UPDATE,
        {
            "input": {
                "idempotencyKey": f"update-{uuid.uuid4().hex}",
                "customerId": to_global_id("Customer", customer_id),
                "lastName": last_name,
            }
        },
    )["data"]["updateCustomer"]
    assert answer["errors"] == [], answer
    return {outcome["location"]["networkId"] for outcome in answer["outcomes"]}


@pytest.fixture
def consent_required(live_gateway: RunningGateway) -> Iterator[None]:
    """The network requires a recorded data-sharing consent before a customer's data leaves their home."""
    rule_book = live_gateway.app.state.services.sync.rule_book
    rules = rule_book.current
    rule_book.current = dataclasses.replace(rules, consent_required_for_sharing=True)
    try:
        yield
    finally:
        rule_book.current = rules


def test_a_recorded_consent_is_current_and_the_history_keeps_every_record(live_gateway: RunningGateway) -> None:
    customer_id, home, _ = _shared_customer(live_gateway, offset=0)
    granted = live_gateway.graphql(
        RECORD,
        {
            "input": _consent(
                customer_id,
                "MARKETING",
                locationId=to_global_id("Location", home),
                ipAddress="2001:db8::7",
                userAgent="Mozilla/5.0 (test)",
                channel="WEBSITE",
            )
        },
    )["data"]["recordConsent"]
    assert granted["errors"] == []
    consent = granted["consent"]
    assert (consent["purpose"], consent["granted"], consent["inForce"], consent["expiresAt"]) == (
        "MARKETING",
        True,
        True,
        None,
    )
    assert (consent["recordedByRole"], consent["channel"], consent["location"]) == (
        "network_admin",
        "WEBSITE",
        {"networkId": home},
    )
    assert (consent["ipAddress"], consent["userAgent"]) == ("2001:db8::7", "Mozilla/5.0 (test)")

    withdrawn = live_gateway.graphql(WITHDRAW, {"input": _consent(customer_id, "MARKETING", channel="EMAIL")})
    assert withdrawn["data"]["withdrawConsent"]["consent"] == {
        "purpose": "MARKETING",
        "granted": False,
        "inForce": False,
    }

    customer = live_gateway.graphql(CONSENTS, {"id": to_global_id("Customer", customer_id)})["data"]["customer"]
    assert customer["currentConsents"] == [
        {"purpose": "MARKETING", "granted": False, "inForce": False, "channel": "EMAIL"}
    ]
    assert [(c["purpose"], c["granted"], c["channel"], c["ipAddress"]) for c in customer["consentHistory"]] == [
        ("MARKETING", True, "WEBSITE", "2001:db8::7"),
        ("MARKETING", False, "EMAIL", None),
    ]
    assert (
        _count(
            live_gateway, AuditEntry, AuditEntry.entity_id == customer_id, AuditEntry.action.like("customer.consent.%")
        )
        == 2
    )


def test_a_customer_records_their_own_consent_and_no_one_elses(live_gateway: RunningGateway) -> None:
    own, _, _ = _shared_customer(live_gateway, offset=1)
    other, _, _ = _shared_customer(live_gateway, offset=2)
    headers = _customer_headers(live_gateway, own)

    mine = live_gateway.graphql(RECORD, {"input": _consent(own, "CONTACT_INFO", channel="APP")}, headers=headers)
    consent = mine["data"]["recordConsent"]["consent"]
    assert (consent["granted"], consent["recordedByRole"], consent["recordedBy"]) == (
        True,
        "customer",
        f"customer-{own}",
    )

    before = _count(live_gateway, ConsentRecord)
    theirs = live_gateway.graphql(RECORD, {"input": _consent(other, "CONTACT_INFO")}, headers=headers)
    assert [e["code"] for e in theirs["data"]["recordConsent"]["errors"]] == ["NOT_FOUND"]
    assert _count(live_gateway, ConsentRecord) == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ipAddress": "999.1.1.1"}, "ipAddress"),
        ({"ipAddress": "1" * 5000}, "ipAddress"),
        ({"userAgent": "U" * 501}, "userAgent"),
        ({"expiresAt": "2001-01-01T00:00:00+00:00"}, "expiresAt"),
        ({"expiresAt": "2999-01-01T00:00:00+00:00"}, "expiresAt"),
        ({"locationId": "Location:no-such-site"}, "locationId"),
        ({"customerId": "Customer:" + "x" * 70}, "customerId"),
        ({"idempotencyKey": "has spaces"}, "idempotencyKey"),
    ],
)
def test_bad_consent_input_is_a_typed_error_that_writes_nothing(
    live_gateway: RunningGateway, extra: dict[str, str], field: str
) -> None:
    customer_id, _, _ = _shared_customer(live_gateway, offset=3)
    before = (_count(live_gateway, ConsentRecord), _count(live_gateway, AuditEntry))
    answer = live_gateway.graphql(RECORD, {"input": _consent(customer_id, **extra)})
    errors = answer["data"]["recordConsent"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", field)], answer
    assert (_count(live_gateway, ConsentRecord), _count(live_gateway, AuditEntry)) == before


def test_withdrawing_data_sharing_keeps_updates_at_home_and_names_who_holds_the_data(
    live_gateway: RunningGateway,
) -> None:
    customer_id, home, away = _shared_customer(live_gateway, offset=4)
    withdrawn = live_gateway.graphql(WITHDRAW, {"input": _consent(customer_id)})["data"]["withdrawConsent"]
    assert withdrawn["errors"] == []
    held = {location["networkId"] for location in withdrawn["heldAt"]}
    assert {home, away} <= held

    assert _update(live_gateway, customer_id, "Withheld") == {home}
    at_home, at_away = (
        local_customer_id(live_gateway, customer_id, home),
        local_customer_id(live_gateway, customer_id, away),
    )
    wait_for(lambda: live_gateway.store(home).customers[at_home].last_name == "Withheld", 10, "the home location")
    settle(live_gateway)
    assert live_gateway.store(away).customers[at_away].last_name != "Withheld"

    # Granted again: the next change goes everywhere that knows them.
    live_gateway.graphql(RECORD, {"input": _consent(customer_id)})
    assert {home, away} <= _update(live_gateway, customer_id, "Shared")
    wait_for(lambda: live_gateway.store(away).customers[at_away].last_name == "Shared", 10, "the other location")


def test_an_expired_data_sharing_consent_counts_as_withdrawn(live_gateway: RunningGateway) -> None:
    customer_id, home, _ = _shared_customer(live_gateway, offset=5)

    async def lapsed_grant() -> None:
        # Granted two days ago until yesterday: what the network holds once a grant's expiry has passed.
        async with live_gateway.engine.begin() as connection:
            await connection.execute(
                insert(ConsentRecord).values(
                    customer_id=customer_id,
                    purpose="data_sharing",
                    granted=True,
                    recorded_at=utc_now() - timedelta(days=2),
                    expires_at=utc_now() - timedelta(days=1),
                    actor="test",
                    actor_role="network_admin",
                    channel="paper",
                )
            )

    live_gateway.run(lapsed_grant())
    customer = live_gateway.graphql(CONSENTS, {"id": to_global_id("Customer", customer_id)})["data"]["customer"]
    assert customer["currentConsents"] == [
        {"purpose": "DATA_SHARING", "granted": True, "inForce": False, "channel": "PAPER"}
    ]
    assert _update(live_gateway, customer_id, "Lapsed") == {home}


def test_without_data_sharing_consent_a_new_customer_is_not_sent_to_other_locations(
    live_gateway: RunningGateway, consent_required: None
) -> None:
    email = f"private-{uuid.uuid4().hex[:8]}@example.com"
    store = live_gateway.store(A)
    store.once(None, lambda: store.new_customer({"first_name": "Priya", "last_name": "Shah", "email": email}))

    job = trigger(live_gateway, A, ["CUSTOMER"])
    assert job["status"] == "COMPLETED" and job["appliedCount"] >= 1
    settle(live_gateway)

    customer_id = _customer_by_email(live_gateway, email)
    assert _count(live_gateway, CustomerMapping, CustomerMapping.customer_id == customer_id) == 1
    assert _count(live_gateway, OutboxMessage, OutboxMessage.entity_id == customer_id) == 0
    for location_id, other in live_gateway.app.state.simulators.stores.items():
        if location_id != A:
            assert not any(c.email == email for c in list(other.customers.values())), location_id


def _customer_by_email(gateway: RunningGateway, email: str) -> str:
    async def find() -> str:
        async with gateway.engine.connect() as connection:
            return str((await connection.execute(select(Customer.id).where(Customer.email == email))).scalar_one())

    return gateway.run(find())


MERGE = """
mutation Merge($input: MergeCustomersInput!) {
  mergeCustomers(input: $input) { outcomes { location { networkId } status } errors { code message } }
}
"""


def test_a_merge_sends_a_customer_without_consent_to_no_new_location(live_gateway: RunningGateway) -> None:
    async def only_at_home() -> str:
        mapped_once = (
            select(CustomerMapping.customer_id).group_by(CustomerMapping.customer_id).having(func.count() == 1)
        )
        async with live_gateway.engine.connect() as connection:
            found = await connection.execute(
                select(Customer.id)
                .where(Customer.primary_location_id == A, Customer.id.in_(mapped_once))
                .order_by(Customer.id)
                .limit(1)
            )
            return str(found.scalar_one())

    keep = live_gateway.run(only_at_home())
    duplicate = f"cus_dup_{uuid.uuid4().hex[:8]}"
    at_b = next(iter(live_gateway.store(B).customers))
    held_at_b = live_gateway.store(B).customers[at_b]

    async def add_duplicate() -> None:
        # B knew the person under a record of its own: the duplicate the merge folds in.
        async with live_gateway.engine.begin() as connection:
            await connection.execute(
                insert(Customer).values(
                    id=duplicate,
                    primary_location_id=B,
                    first_name=held_at_b.first_name,
                    last_name=held_at_b.last_name,
                    email=None,
                    phone=None,
                    preferences={},
                    consents={},
                    version=1,
                    created_at=utc_now(),
                    updated_at=utc_now(),
                )
            )
            await connection.execute(
                update(CustomerMapping)
                .where(CustomerMapping.location_id == B, CustomerMapping.local_customer_id == at_b)
                .values(customer_id=duplicate)
            )

    live_gateway.run(add_duplicate())
    live_gateway.graphql(WITHDRAW, {"input": _consent(keep)})
    merged = live_gateway.graphql(
        MERGE,
        {
            "input": {
                "idempotencyKey": f"merge-{uuid.uuid4().hex}",
                "keepCustomerId": to_global_id("Customer", keep),
                "removeCustomerId": to_global_id("Customer", duplicate),
            }
        },
    )["data"]["mergeCustomers"]
    assert merged["errors"] == [], merged
    assert B not in {outcome["location"]["networkId"] for outcome in merged["outcomes"]}
    settle(live_gateway)
    # B's identity is the kept customer's now, and B was sent none of their details.
    assert local_customer_id(live_gateway, keep, B) == at_b
    assert live_gateway.store(B).customers[at_b].email == held_at_b.email
    assert live_gateway.store(B).customers[at_b].global_id == held_at_b.global_id
