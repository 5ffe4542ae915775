"""The hotel PMS booking engine API (specs/hotel-pms-booking-engine.md) over real HTTP against the demo's hotel:
a guest finds a free room, books it with a customer token, reads it back, changes the dates and cancels, and
each write reaches the hotel's own system exactly once; refusals come in the package's one error shape and
change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from live_helpers import cache_row, customer_known_at
from sqlalchemy import select

from conftest import RunningGateway
from devnet.demo.hotel import HOTEL_ID
from identity.principal import Role
from sources.cache.models import Booking

API = "/api/booking-engine"
SALON = "manchester-central"
LONDON = ZoneInfo("Europe/London")


def _token(gateway: RunningGateway, role: Role, **claims: Any) -> str:
    """A token as `python server.py issue-token` issues it (the same Authenticator.issue)."""
    authenticator = gateway.app.state.authenticator
    token: str = gateway.run(authenticator.issue(role, subject=f"test-{role.value}-{uuid.uuid4().hex[:6]}", **claims))
    return token


def _customer(gateway: RunningGateway, customer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(gateway, Role.CUSTOMER, customer_id=customer_id)}"}


def _call(gateway: RunningGateway, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return httpx.request(method, f"{gateway.url}{API}/{path}", headers=headers or {}, timeout=60, **kwargs)


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)


def _stay_dates(days_ahead: int, nights: int) -> tuple[str, str]:
    today = datetime.now(UTC).astimezone(LONDON).date()
    check_in = today + timedelta(days=days_ahead)
    return check_in.isoformat(), (check_in + timedelta(days=nights)).isoformat()


def _hotel_copies(gateway: RunningGateway, booking_id: str) -> list[Any]:
    """The hotel's own reservations for this gateway booking (its external reference is the booking's id)."""
    store = gateway.store(HOTEL_ID)
    return [booking for booking in store.bookings_changed_since(None) if booking.global_id == booking_id]


def _free_room(gateway: RunningGateway, headers: dict[str, str], check_in: str, check_out: str) -> dict[str, Any]:
    response = _call(
        gateway, "GET", f"availability/{HOTEL_ID}", headers, params={"check_in": check_in, "check_out": check_out}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["source"] == "live" and data["hotel_id"] == HOTEL_ID
    room_type = next(item for item in data["room_types"] if item["available_count"] > 0)
    return {"room_type": room_type, "room": room_type["available_rooms"][0]}


def _stay(gateway: RunningGateway, headers: dict[str, str], days_ahead: int) -> dict[str, Any]:
    """A booking request for a room free for two nights from `days_ahead` days on."""
    check_in, check_out = _stay_dates(days_ahead, 2)
    free = _free_room(gateway, headers, check_in, check_out)
    body = {
        "hotel_id": HOTEL_ID,
        "room_type_id": free["room_type"]["room_type_id"],
        "room_id": free["room"]["room_id"],
        "check_in": check_in,
        "check_out": check_out,
        "special_requests": "Late arrival",
    }
    return body


def _post(gateway: RunningGateway, headers: dict[str, str], body: dict[str, Any], key: str) -> dict[str, Any]:
    response = _call(gateway, "POST", "bookings", {**headers, "Idempotency-Key": key}, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()["data"]
    return answer


def _other_customers_stay(gateway: RunningGateway, not_customer: str) -> str:
    async def find() -> str:
        async with gateway.engine.connect() as connection:
            found = await connection.scalar(
                select(Booking.id)
                .where(
                    Booking.service_location_id == HOTEL_ID,
                    Booking.customer_id != not_customer,
                    Booking.status == "confirmed",
                    Booking.start_at > datetime.now(UTC),
                )
                .order_by(Booking.id)
                .limit(1)
            )
        assert found is not None
        return str(found)

    return gateway.run(find())


def test_a_guest_finds_a_room_books_it_reads_it_changes_the_dates_and_cancels(live_gateway: RunningGateway) -> None:
    guest = customer_known_at(live_gateway, HOTEL_ID)
    headers = _customer(live_gateway, guest)
    booked = _post(live_gateway, headers, _stay(live_gateway, headers, days_ahead=30), uuid.uuid4().hex)
    stay = booked["booking"]
    assert booked["delivery"] == [{"location_id": HOTEL_ID, "status": "DELIVERED", "code": None, "reason": None}]
    assert stay["hotel_id"] == HOTEL_ID and stay["guest_id"] == guest and stay["nights"] == 2
    assert stay["special_requests"] == "Late arrival" and stay["status"] in ("pending", "confirmed")
    rate = Decimal(cache_row(live_gateway, Booking, stay["id"]).price_minor) / 100 / 2
    assert Decimal(stay["total_amount"]) == 2 * rate
    copies = _hotel_copies(live_gateway, stay["id"])
    assert len(copies) == 1 and stay["hotel_reference"] == copies[0].local_id

    read = _call(live_gateway, "GET", f"bookings/{stay['id']}", headers)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["booking"]["check_in"] == stay["check_in"]

    check_out = (date.fromisoformat(stay["check_out"]) + timedelta(days=1)).isoformat()
    changed = _call(live_gateway, "PUT", f"bookings/{stay['id']}", headers, json={"check_out": check_out})
    assert changed.status_code == 200, changed.text
    moved = changed.json()["data"]
    assert moved["booking"]["check_out"] == check_out and moved["booking"]["nights"] == 3
    assert Decimal(moved["booking"]["total_amount"]) == 3 * rate
    assert moved["delivery"][0]["status"] == "DELIVERED"
    (copy,) = _hotel_copies(live_gateway, stay["id"])
    assert copy.end_at.astimezone(LONDON).date().isoformat() == check_out

    cancelled = _call(live_gateway, "DELETE", f"bookings/{stay['id']}", headers, params={"reason": "plans changed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["booking"]["status"] == "cancelled"
    (copy,) = _hotel_copies(live_gateway, stay["id"])
    assert copy.status == "cancelled"


def test_a_booking_retried_with_its_idempotency_key_reaches_the_hotel_once(live_gateway: RunningGateway) -> None:
    headers = _customer(live_gateway, customer_known_at(live_gateway, HOTEL_ID, offset=1))
    key, body = uuid.uuid4().hex, _stay(live_gateway, headers, days_ahead=33)
    first = _post(live_gateway, headers, body, key)
    writes = live_gateway.store(HOTEL_ID).write_count
    again = _post(live_gateway, headers, body, key)
    assert again["booking"]["id"] == first["booking"]["id"]
    assert len(_hotel_copies(live_gateway, first["booking"]["id"])) == 1
    assert live_gateway.store(HOTEL_ID).write_count == writes


def test_a_customer_cannot_read_change_or_cancel_another_customers_stay(live_gateway: RunningGateway) -> None:
    me = customer_known_at(live_gateway, HOTEL_ID, offset=2)
    theirs = _other_customers_stay(live_gateway, me)
    before = cache_row(live_gateway, Booking, theirs)
    writes = live_gateway.store(HOTEL_ID).write_count
    headers = _customer(live_gateway, me)
    _refused(_call(live_gateway, "GET", f"bookings/{theirs}", headers), 404, "BOOKING_NOT_FOUND")
    _refused(
        _call(live_gateway, "PUT", f"bookings/{theirs}", headers, json={"room_id": "res_x"}), 404, "BOOKING_NOT_FOUND"
    )
    _refused(_call(live_gateway, "DELETE", f"bookings/{theirs}", headers), 404, "BOOKING_NOT_FOUND")
    after = cache_row(live_gateway, Booking, theirs)
    assert (after.status, after.start_at, after.end_at, after.version) == (
        before.status,
        before.start_at,
        before.end_at,
        before.version,
    )
    assert live_gateway.store(HOTEL_ID).write_count == writes


def test_a_customer_books_only_for_themself(live_gateway: RunningGateway) -> None:
    me = customer_known_at(live_gateway, HOTEL_ID, offset=3)
    someone_else = customer_known_at(live_gateway, HOTEL_ID, offset=4)
    check_in, check_out = _stay_dates(36, 1)
    headers = _customer(live_gateway, me)
    free = _free_room(live_gateway, headers, check_in, check_out)
    writes = live_gateway.store(HOTEL_ID).write_count
    body = {
        "hotel_id": HOTEL_ID,
        "room_type_id": free["room_type"]["room_type_id"],
        "check_in": check_in,
        "check_out": check_out,
        "guest_id": someone_else,
    }
    _refused(_call(live_gateway, "POST", "bookings", headers, json=body), 403, "FORBIDDEN")
    assert live_gateway.store(HOTEL_ID).write_count == writes


def test_a_location_that_is_not_a_hotel_is_hotel_not_found(live_gateway: RunningGateway) -> None:
    headers = live_gateway.headers
    check_in, check_out = _stay_dates(20, 1)
    dates = {"check_in": check_in, "check_out": check_out}
    for path in (f"hotels/{SALON}", f"room-types/{SALON}", f"amenities/{SALON}", f"hotels/{SALON}/images"):
        _refused(_call(live_gateway, "GET", path, headers), 404, "HOTEL_NOT_FOUND")
    for path in (f"availability/{SALON}", f"hotels/{SALON}/pricing", "availability/no-such-hotel"):
        _refused(_call(live_gateway, "GET", path, headers, params=dates), 404, "HOTEL_NOT_FOUND")
    body = {"hotel_id": SALON, "room_type_id": "svc_x", "check_in": check_in, "check_out": check_out}
    _refused(_call(live_gateway, "POST", "bookings", headers, json=body), 404, "HOTEL_NOT_FOUND")


def test_the_hotel_shows_its_room_types_amenities_and_prices(live_gateway: RunningGateway) -> None:
    headers = live_gateway.headers
    hotel = _call(live_gateway, "GET", f"hotels/{HOTEL_ID}", headers).json()["data"]["hotel"]
    assert (hotel["id"], hotel["currency"], hotel["check_in_time"], hotel["check_out_time"]) == (
        HOTEL_ID,
        "GBP",
        "15:00",
        "11:00",
    )
    types = _call(live_gateway, "GET", f"room-types/{HOTEL_ID}", headers).json()["data"]["room_types"]
    assert {(t["code"], t["rooms"]) for t in types} == {("DBL", 6), ("TWN", 4), ("STE", 2)}
    amenities = _call(live_gateway, "GET", f"amenities/{HOTEL_ID}", headers).json()["data"]["amenities"]
    wifi = next(item for item in amenities if item["name"] == "Free Wi-Fi")
    assert set(wifi["room_type_ids"]) == {t["id"] for t in types}
    check_in, check_out = _stay_dates(10, 3)
    prices = _call(
        live_gateway,
        "GET",
        f"hotels/{HOTEL_ID}/pricing",
        headers,
        params={"check_in": check_in, "check_out": check_out},
    ).json()["data"]["room_types"]
    for price in prices:
        assert price["nights"] == 3 and Decimal(price["total"]) == 3 * Decimal(price["rate_per_night"])
    suites = _call(
        live_gateway,
        "GET",
        f"availability/{HOTEL_ID}",
        headers,
        params={"check_in": check_in, "check_out": check_out, "guests": "3"},
    ).json()["data"]["room_types"]
    # Only the suites sleep three.
    assert {t["room_type_id"] for t in suites if t["available_count"]} <= {t["id"] for t in types if t["code"] == "STE"}
    images = _call(live_gateway, "GET", f"hotels/{HOTEL_ID}/images", headers).json()["data"]
    assert images == {"hotel_id": HOTEL_ID, "images": []}


def test_malformed_dates_and_bodies_are_validation_errors(live_gateway: RunningGateway) -> None:
    headers = live_gateway.headers
    for params in (
        {"check_in": "2026-02-30", "check_out": "2026-03-02"},
        {"check_in": "tomorrow", "check_out": "2026-03-02"},
        {"check_in": "2026-03-05", "check_out": "2026-03-02"},
        {"check_in": "2026-03-01", "check_out": "2026-04-30"},
        {"check_in": "9999-01-01", "check_out": "9999-01-02"},
        {"check_in": "2026-03-01", "check_out": "2026-03-02", "guests": "0"},
    ):
        response = _call(live_gateway, "GET", f"availability/{HOTEL_ID}", headers, params=params)
        _refused(response, 400, "VALIDATION_ERROR")
    _refused(_call(live_gateway, "POST", "bookings", headers, content=b"{not json"), 400, "VALIDATION_ERROR")
    room_type = _call(live_gateway, "GET", f"room-types/{HOTEL_ID}", headers).json()["data"]["room_types"][0]["id"]
    past_in, past_out = _stay_dates(-3, 1)
    body = {"hotel_id": HOTEL_ID, "room_type_id": room_type, "check_in": past_in, "check_out": past_out}
    writes = live_gateway.store(HOTEL_ID).write_count
    for wrong in ({**body, "nights": 2}, {**body, "guest": {"first_name": "A", "last_name": "B"}}):
        _refused(_call(live_gateway, "POST", "bookings", headers, json=wrong), 400, "VALIDATION_ERROR")
    assert live_gateway.store(HOTEL_ID).write_count == writes


def test_garbage_tokens_are_unauthorized_and_a_good_one_says_who_it_is(live_gateway: RunningGateway) -> None:
    for authorization in ("Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 9000):
        response = _call(live_gateway, "GET", f"hotels/{HOTEL_ID}", {"Authorization": authorization})
        _refused(response, 401, "UNAUTHORIZED")
    for token in ("a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        response = _call(live_gateway, "POST", "auth/validate-token", json={"token": token})
        _refused(response, 401, "INVALID_TOKEN")
    for raw in (b'{"token": "\\ud800.x.y"}', b'{"token": 7}', b"{}", b"[]", b"\xff"):
        _refused(_call(live_gateway, "POST", "auth/validate-token", content=raw), 400, "VALIDATION_ERROR")
    token = _token(live_gateway, Role.LOCATION_MANAGER, locations=[HOTEL_ID], ttl_seconds=900)
    response = _call(live_gateway, "POST", "auth/validate-token", json={"token": token})
    assert response.status_code == 200, response.text
    info = response.json()["data"]
    assert info["valid"] is True and info["role"] == "location_manager" and info["locations"] == [HOTEL_ID]
    expires = datetime.fromisoformat(info["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=14) < expires <= timedelta(minutes=15, seconds=5)


def test_without_a_token_the_hotel_is_not_public_unless_the_gateway_says_so(live_gateway: RunningGateway) -> None:
    check_in, check_out = _stay_dates(20, 1)
    _refused(_call(live_gateway, "GET", f"hotels/{HOTEL_ID}"), 401, "UNAUTHORIZED")
    dates = {"check_in": check_in, "check_out": check_out}
    _refused(_call(live_gateway, "GET", f"availability/{HOTEL_ID}", params=dates), 401, "UNAUTHORIZED")
    _refused(_call(live_gateway, "POST", "bookings", json={}), 401, "UNAUTHORIZED")


def test_a_guest_profile_is_for_the_guest_and_the_hotels_staff(live_gateway: RunningGateway) -> None:
    guest = customer_known_at(live_gateway, HOTEL_ID, offset=5)
    other = customer_known_at(live_gateway, HOTEL_ID, offset=6)
    own = _call(live_gateway, "GET", f"auth/user/{guest}", _customer(live_gateway, guest))
    assert own.status_code == 200, own.text
    profile = own.json()["data"]["user"]
    assert profile["id"] == guest and HOTEL_ID in {identity["location_id"] for identity in profile["identities"]}
    _refused(_call(live_gateway, "GET", f"auth/user/{other}", _customer(live_gateway, guest)), 404, "USER_NOT_FOUND")
    staff = {"Authorization": f"Bearer {_token(live_gateway, Role.FRANCHISEE, locations=[HOTEL_ID])}"}
    seen = _call(live_gateway, "GET", f"auth/user/{other}", staff)
    assert seen.status_code == 200 and seen.json()["data"]["user"]["id"] == other
    resource = cache_row(live_gateway, Booking, _other_customers_stay(live_gateway, guest)).resource_id
    cleaner = _token(live_gateway, Role.SHARED_STAFF, locations=[HOTEL_ID], resource_id=resource)
    _refused(_call(live_gateway, "GET", f"auth/user/{other}", {"Authorization": f"Bearer {cleaner}"}), 403, "FORBIDDEN")


def test_with_public_availability_on_anyone_reads_the_hotel_but_only_a_token_books(
    live_gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = live_gateway.app.state.settings.model_copy(update={"public_availability": True})
    monkeypatch.setattr(live_gateway.app.state, "settings", public)
    check_in, check_out = _stay_dates(25, 1)
    dates = {"check_in": check_in, "check_out": check_out}
    assert _call(live_gateway, "GET", f"hotels/{HOTEL_ID}").json()["data"]["hotel"]["id"] == HOTEL_ID
    free = _call(live_gateway, "GET", f"availability/{HOTEL_ID}", params=dates)
    assert free.status_code == 200 and free.json()["data"]["room_types"], free.text
    _refused(_call(live_gateway, "GET", "bookings/bkg_nope"), 401, "UNAUTHORIZED")
    _refused(_call(live_gateway, "POST", "bookings", json={}), 401, "UNAUTHORIZED")
