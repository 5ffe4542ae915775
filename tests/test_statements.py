"""Monthly location statements: `locationStatements` and its CSV / JSON download list every revenue line a
location earned or owes, with totals per currency that never add two currencies together. Manchester (GBP)
books a customer into Dublin (EUR): its statement then has a line in each currency."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from live_helpers import FreeSlot, customer_known_at, free_slot

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id

MANCHESTER = "manchester-central"
DUBLIN = "dublin-ranelagh"
LEEDS = "leeds-headingley"

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id startAt } errors { code message } }
}
"""

STATEMENTS = """
query Statements($location: ID, $month: String!) {
  locationStatements(locationId: $location, month: $month) {
    month csvPath location { networkId }
    lines { businessDate bookingId role sharePercent paymentStatus originatingLocationNetworkId
            serviceLocationNetworkId share { amount currency minorUnits } commission { minorUnits }
            tax { minorUnits } net { amount minorUnits } }
    totals { currency lineCount share { amount currency minorUnits } commission { minorUnits } tax { minorUnits }
             net { minorUnits } paid { minorUnits } refunded { minorUnits } writtenOff { minorUnits } }
  }
}
"""


def _book(gateway: RunningGateway, slot: FreeSlot, originating: str) -> dict[str, Any]:
    variables = {
        "input": {
            "idempotencyKey": f"statement-{uuid.uuid4().hex}",
            "startAt": slot.start_at.isoformat(),
            "serviceId": to_global_id("Service", slot.service_id),
            "resourceId": to_global_id("Resource", slot.resource_id),
            "customerId": to_global_id("Customer", customer_known_at(gateway, MANCHESTER)),
            "originatingLocationId": to_global_id("Location", originating),
        }
    }
    answer = gateway.graphql(CREATE_BOOKING, variables)
    created: dict[str, Any] = answer["data"]["createBooking"]
    assert created["errors"] == [], answer
    return created


@pytest.fixture(scope="module")
def month(live_gateway: RunningGateway) -> dict[str, Any]:
    """Manchester sends a customer to Dublin and books one at home, in the same month."""
    in_dublin = free_slot(live_gateway, DUBLIN)
    at_home = free_slot(live_gateway, MANCHESTER)
    dublin_booking = _book(live_gateway, in_dublin, MANCHESTER)["booking"]
    home_booking = _book(live_gateway, at_home, MANCHESTER)["booking"]
    assert in_dublin.start_at.strftime("%Y-%m") == at_home.start_at.strftime("%Y-%m"), "pick slots in one month"
    return {
        "month": in_dublin.start_at.strftime("%Y-%m"),
        "dublin_booking": dublin_booking["id"],
        "home_booking": home_booking["id"],
        "dublin_price": in_dublin.price_minor,
    }


def _statements(gateway: RunningGateway, month: str, location: str | None, **kwargs: Any) -> dict[str, Any]:
    variables = {"month": month, "location": None if location is None else to_global_id("Location", location)}
    return gateway.graphql(STATEMENTS, variables, **kwargs)


def test_a_statement_lists_each_line_and_totals_each_currency_apart(
    live_gateway: RunningGateway, month: dict[str, Any]
) -> None:
    answer = _statements(live_gateway, month["month"], MANCHESTER)
    assert "errors" not in answer, answer
    (statement,) = answer["data"]["locationStatements"]
    assert statement["location"]["networkId"] == MANCHESTER
    assert statement["csvPath"] == f"/api/statements/{MANCHESTER}/{month['month']}.csv"
    lines = {line["bookingId"]: line for line in statement["lines"]}
    dublin = lines[month["dublin_booking"]]
    assert (dublin["role"], dublin["sharePercent"], dublin["share"]["currency"]) == ("originating", "20.00", "EUR")
    assert dublin["serviceLocationNetworkId"] == DUBLIN and dublin["originatingLocationNetworkId"] == MANCHESTER
    # 20 % of the price, rounded half up, in Dublin's currency: never converted to pounds.
    assert dublin["share"]["minorUnits"] == (2 * month["dublin_price"] * 2_000 + 10_000) // 20_000
    assert lines[month["home_booking"]]["role"] == "sole"
    for line in statement["lines"]:
        parts = line["commission"]["minorUnits"] + line["tax"]["minorUnits"] + line["net"]["minorUnits"]
        assert parts == line["share"]["minorUnits"]
    by_currency = {totals["currency"]: totals for totals in statement["totals"]}
    assert sorted(by_currency) == ["EUR", "GBP"]
    for currency, totals in by_currency.items():
        earned = [
            line
            for line in statement["lines"]
            if line["share"]["currency"] == currency and line["paymentStatus"] in ("pending", "paid")
        ]
        assert totals["lineCount"] == len(earned)
        assert totals["share"]["minorUnits"] == sum(line["share"]["minorUnits"] for line in earned)
        assert totals["share"]["currency"] == currency
        assert totals["net"]["minorUnits"] == sum(line["net"]["minorUnits"] for line in earned)


def test_the_csv_and_json_downloads_say_what_the_query_says(
    live_gateway: RunningGateway, month: dict[str, Any]
) -> None:
    (statement,) = _statements(live_gateway, month["month"], MANCHESTER)["data"]["locationStatements"]
    as_csv = httpx.get(f"{live_gateway.url}{statement['csvPath']}", headers=live_gateway.headers, timeout=30)
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    lines = [row for row in rows if row["row_type"] == "line"]
    totals = {row["currency"]: row for row in rows if row["row_type"] == "total"}
    assert [to_global_id("Booking", row["booking_id"]) for row in lines] == [
        line["bookingId"] for line in statement["lines"]
    ]
    assert [Decimal(row["net"]) for row in lines] == [Decimal(line["net"]["amount"]) for line in statement["lines"]]
    for expected in statement["totals"]:
        row = totals[expected["currency"]]
        assert Decimal(row["share"]) == Decimal(expected["share"]["amount"])
        assert int(row["line_count"]) == expected["lineCount"]
    json_path = statement["csvPath"].removesuffix(".csv") + ".json"
    as_json = httpx.get(f"{live_gateway.url}{json_path}", headers=live_gateway.headers, timeout=30).json()
    assert as_json["location_id"] == MANCHESTER and as_json["month"] == month["month"]
    assert [t["currency"] for t in as_json["totals"]] == [t["currency"] for t in statement["totals"]]
    assert [Decimal(t["share"]) for t in as_json["totals"]] == [
        Decimal(t["share"]["amount"]) for t in statement["totals"]
    ]


def test_a_location_manager_gets_their_own_statement_and_is_refused_another(
    live_gateway: RunningGateway, month: dict[str, Any]
) -> None:
    issue = live_gateway.app.state.authenticator.issue
    token = live_gateway.run(issue(Role.LOCATION_MANAGER, subject="statement-manager", locations=[MANCHESTER]))
    headers = {"Authorization": f"Bearer {token}"}
    everything_theirs = _statements(live_gateway, month["month"], None, headers=headers)
    assert [s["location"]["networkId"] for s in everything_theirs["data"]["locationStatements"]] == [MANCHESTER]
    refused = _statements(live_gateway, month["month"], LEEDS, headers=headers)
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["FORBIDDEN"]
    download = httpx.get(f"{live_gateway.url}/api/statements/{LEEDS}/{month['month']}.csv", headers=headers)
    assert download.status_code == 403 and download.json()["error"]["code"] == "FORBIDDEN"
    anonymous = httpx.get(f"{live_gateway.url}/api/statements/{MANCHESTER}/{month['month']}.csv")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("bad_month", ["2026-13", "2026-3", "26-03", "1066-01", "2026-03-01", "x" * 500])
def test_a_bad_month_is_invalid_input_on_both_faces(live_gateway: RunningGateway, bad_month: str) -> None:
    answer = _statements(live_gateway, bad_month, MANCHESTER)
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["INVALID_INPUT"]
    download = httpx.get(
        f"{live_gateway.url}/api/statements/{MANCHESTER}/{bad_month}.csv", headers=live_gateway.headers
    )
    assert download.status_code in (400, 404)


def test_an_unknown_location_or_format_is_refused(live_gateway: RunningGateway) -> None:
    answer = _statements(live_gateway, "2026-03", "no-such-place")
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["NOT_FOUND"]
    pdf = httpx.get(f"{live_gateway.url}/api/statements/{MANCHESTER}/2026-03.pdf", headers=live_gateway.headers)
    assert pdf.status_code == 400 and pdf.json()["error"]["code"] == "INVALID_INPUT"
