"""Revenue split rules and fixed commission, applied when a booking's entries are written: a rule for a service
wins over one for the pair of locations, which wins over the network default (20 %); with fixed commission each
share owes the fixed amount of its currency (a currency without one is charged the percentage).

A gateway of its own per backend, configured as an operator would (settings), over the demo network."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from live_helpers import customer_known_at, free_slot
from sqlalchemy import select
from sync_helpers import eventually

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from resolvers.ids import to_global_id
from settings import Settings, SplitRule
from sources.cache.models import Location, Service

MANCHESTER = "manchester-central"
STOCKPORT = "stockport-merseyway"
DUBLIN = "dublin-ranelagh"

SHARES = """
query Shares($id: ID!) {
  booking(id: $id) {
    revenueSplit { role sharePercent amount { minorUnits currency } commission { minorUnits } }
  }
}
"""

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id }
    errors { code message }
  }
}
"""


def _first_service(gateway: RunningGateway, location_id: str) -> str:
    async def first() -> str:
        async with gateway.engine.connect() as connection:
            found = await connection.scalar(
                select(Service.id).where(Service.location_id == location_id, Service.is_active).order_by(Service.id)
            )
        assert found is not None
        return str(found)

    return gateway.run(first())


@pytest.fixture(scope="module")
def ruled(own_database_url: str) -> Iterator[tuple[RunningGateway, str]]:
    """The demo, restarted with rules (one of them for a service of the demo's, read on the first start)."""
    first = start_gateway(Settings(database_url=own_database_url, demo_network=True, **LIVE_SETTINGS))
    try:
        service_id = _first_service(first, STOCKPORT)
    finally:
        stop_gateway(first)
    settings = Settings(
        database_url=own_database_url,
        demo_network=True,
        **LIVE_SETTINGS,
        revenue_split_rules=[
            SplitRule(originating=MANCHESTER, service=DUBLIN, originating_percent=Decimal(30)),
            SplitRule(originating=MANCHESTER, service=STOCKPORT, originating_percent=Decimal("12.5")),
            SplitRule(service_id=service_id, originating_percent=Decimal(50)),
        ],
        commission_calculation="fixed",
        fixed_commission={"EUR": Decimal("2.00")},
    )
    running = start_gateway(settings)
    try:
        yield running, service_id
    finally:
        stop_gateway(running)


def _book(gateway: RunningGateway, location_id: str, originating: str, skip: int = 0) -> tuple[Any, list[Any]]:
    slot = free_slot(gateway, location_id, skip=skip)
    variables = {
        "input": {
            "idempotencyKey": f"split-{uuid.uuid4().hex}",
            "startAt": slot.start_at.isoformat(),
            "serviceId": to_global_id("Service", slot.service_id),
            "resourceId": to_global_id("Resource", slot.resource_id),
            "customerId": to_global_id("Customer", customer_known_at(gateway, originating)),
            "originatingLocationId": to_global_id("Location", originating),
        }
    }
    answer = gateway.graphql(CREATE_BOOKING, variables)
    created = answer["data"]["createBooking"]
    assert created["errors"] == [], answer
    booking_id = created["booking"]["id"]

    def split() -> dict[str, Any] | None:
        # The entries are written once the owner has taken the booking (the outbox delivers it at once).
        shares = gateway.graphql(SHARES, {"id": booking_id})["data"]["booking"]["revenueSplit"]
        return {share["role"]: share for share in shares} or None

    shares = eventually(split, 20, "the booking's revenue split")
    return slot, [shares["ORIGINATING"], shares["SERVICE"]]


def _commission_rate_bp(gateway: RunningGateway, location_id: str) -> int:
    async def rate() -> int:
        async with gateway.engine.connect() as connection:
            found = await connection.scalar(select(Location.commission_rate_bp).where(Location.id == location_id))
        return int(found or 0)

    return gateway.run(rate())


def _half_up(amount: int, numerator: int, denominator: int) -> int:
    return (2 * amount * numerator + denominator) // (2 * denominator)


def test_a_pair_rule_sets_the_originating_share_and_euro_shares_owe_the_fixed_commission(
    ruled: tuple[RunningGateway, str],
) -> None:
    gateway, _ = ruled
    slot, (originating, service) = _book(gateway, DUBLIN, MANCHESTER)
    assert (originating["sharePercent"], service["sharePercent"]) == ("30.00", "70.00")
    assert originating["amount"]["minorUnits"] == _half_up(slot.price_minor, 3_000, 10_000)
    assert originating["amount"]["minorUnits"] + service["amount"]["minorUnits"] == slot.price_minor
    assert {originating["amount"]["currency"], service["amount"]["currency"]} == {"EUR"}
    assert (originating["commission"]["minorUnits"], service["commission"]["minorUnits"]) == (
        min(200, originating["amount"]["minorUnits"]),
        min(200, service["amount"]["minorUnits"]),
    )


def test_a_service_rule_wins_over_the_pair_s_and_pounds_fall_back_to_the_percentage_commission(
    ruled: tuple[RunningGateway, str],
) -> None:
    gateway, service_id = ruled
    slot, (originating, service) = _book(gateway, STOCKPORT, MANCHESTER)
    assert slot.service_id == service_id, "free_slot picks the first service by id"
    assert (originating["sharePercent"], service["sharePercent"]) == ("50.00", "50.00")  # not the pair's 12.5
    rate = _commission_rate_bp(gateway, MANCHESTER)
    assert originating["commission"]["minorUnits"] == _half_up(originating["amount"]["minorUnits"], rate, 10_000)


def test_a_pair_without_a_rule_keeps_the_network_default(ruled: tuple[RunningGateway, str]) -> None:
    gateway, _ = ruled
    _, (originating, service) = _book(gateway, MANCHESTER, STOCKPORT)
    assert (originating["sharePercent"], service["sharePercent"]) == ("20.00", "80.00")


@pytest.mark.parametrize(
    "rule",
    [
        {"originating_percent": "101", "service_id": "svc_x"},
        {"originating_percent": "-1", "service_id": "svc_x"},
        {"originating_percent": "10.123", "service_id": "svc_x"},
        {"originating_percent": "10", "originating": MANCHESTER},  # half a pair
        {"originating_percent": "10", "service_id": "svc_x", "originating": MANCHESTER, "service": DUBLIN},
        {"originating_percent": "10"},
    ],
)
def test_a_bad_split_rule_is_refused_when_the_settings_are_read(rule: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings(revenue_split_rules=[rule])  # type: ignore[list-item]  # as the environment's JSON gives it
