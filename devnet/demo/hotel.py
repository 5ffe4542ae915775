"""The demo's hotel: a PMS property with room types, rooms, guests (customers of the salons who also stay
there) and a few months of stays around "now".

Built after everything else, from an RNG of its own: the salons' rows are exactly what they were before the
hotel joined, and the hotel's rows are deterministic too. The rows look as the PMS connector would pull them
(sources/connectors/pms_payloads.py): a room type is a service of category ``room`` lasting one night, a room a
resource of kind ``room`` whose skill is its room type's code, a stay a booking from check-in (15:00) to
check-out (11:00) on hotel-local dates.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from devnet.demo.customers import CustomerPlan
from devnet.demo.ids import GlobalIds, Row
from sources.cache.revenue import LocationRates, split_revenue
from sources.connectors.pms_payloads import NIGHT_MINUTES, stay_bounds

HOTEL_ID = "manchester-piccadilly-hotel"
ZONE = ZoneInfo("Europe/London")
RATES = LocationRates(HOTEL_ID, tax_rate_bp=2000, commission_rate_bp=1000)
GUEST_COUNT = 80
STAY_COUNT = 120
WINDOW_DAYS = 60  # check-ins within this many days of now, as the salons' bookings
MAX_NIGHTS = 4
# Far above the numbers the simulated PMS hands out itself (devnet.simulators.pms.pms_local_ids).
FIRST_GUEST_NUMBER = 60_000
FIRST_RESERVATION_NUMBER = 900_000
PAST_STATUSES = (("completed", 90), ("cancelled", 6), ("no_show", 4))
FUTURE_STATUSES = (("confirmed", 85), ("pending", 8), ("cancelled", 7))


@dataclass(frozen=True, slots=True)
class RoomTypeSpec:
    code: str
    name: str
    rate_minor: int  # per night, GBP pence
    # What the room has, comma-separated: the booking engine's amenities.
    description: str
    rooms: tuple[str, ...]
    max_occupancy: int
    popularity: int


ROOM_TYPES: tuple[RoomTypeSpec, ...] = (
    RoomTypeSpec(
        "DBL",
        "Double room",
        11_900,
        "Queen-size bed, Rain shower, Free Wi-Fi, Tea and coffee, Smart TV",
        ("101", "102", "103", "104", "201", "202"),
        2,
        6,
    ),
    RoomTypeSpec(
        "TWN",
        "Twin room",
        12_900,
        "Two single beds, Walk-in shower, Free Wi-Fi, Tea and coffee, Smart TV",
        ("105", "106", "203", "204"),
        2,
        3,
    ),
    RoomTypeSpec(
        "STE",
        "Junior suite",
        21_900,
        "King-size bed, Bath and shower, City view, Free Wi-Fi, Minibar, Lounge area, Smart TV",
        ("301", "302"),
        3,
        1,
    ),
)


@dataclass(frozen=True)
class HotelBook:
    location_row: Row
    service_rows: list[Row]
    resource_rows: list[Row]
    mapping_rows: list[Row]
    booking_rows: list[Row]
    revenue_rows: list[Row]
    job_rows: list[Row]
    log_rows: list[Row]


class _HotelBuilder:
    def __init__(self, rng: random.Random, ids: GlobalIds, now: datetime) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.joined = now - timedelta(days=400)
        self.service_rows: list[Row] = []
        self.resource_rows: list[Row] = []
        self.mapping_rows: list[Row] = []
        self.booking_rows: list[Row] = []
        self.revenue_rows: list[Row] = []
        self.rooms_of: dict[str, list[str]] = {}  # room type code -> room resource ids
        self.room_type_of: dict[str, Row] = {}  # code -> service row
        self.taken: dict[str, set[date]] = defaultdict(set)  # room id -> nights (their check-in dates) taken
        self.local_room: dict[str, str] = {}

    def location_row(self) -> Row:
        return {
            "id": HOTEL_ID,
            "name": "Piccadilly Gardens Hotel",
            "kind": "pms",
            "base_url": f"http://{HOTEL_ID}.demo.invalid",
            "is_hub": False,
            "status": "online",
            "town": "Manchester",
            "timezone": ZONE.key,
            "currency": "GBP",
            "tax_rate_bp": RATES.tax_rate_bp,
            "commission_rate_bp": RATES.commission_rate_bp,
            "latitude": 53.4810,
            "longitude": -2.2369,
            "version": "2.4.1",
            "last_heartbeat_at": self.now - timedelta(seconds=45),
            "last_sync_at": self.now - timedelta(minutes=4),
            # A hotel never closes: a stay runs over midnight, which opening hours cannot say.
            "opening_hours": None,
            "sync_settings": {
                "frequency": "hourly",
                "conflict_resolution": "hub_wins",
                "batch_size": 100,
                "entities": ["customers", "bookings", "resources", "services"],
            },
            "created_at": self.joined,
            "updated_at": self.joined + timedelta(days=30),
        }

    def last_sync(self, finished_at: datetime) -> tuple[list[Row], list[Row]]:
        """The hotel's last scheduled pull, which ended at its `last_sync_at`, and its one log per feed."""
        job_id = self.ids.new("job")
        entities = ("customers", "bookings", "resources")
        step = timedelta(milliseconds=self.rng.randint(300, 2_000))
        started = finished_at - step * len(entities)
        counts = [self.rng.choice((0, self.rng.randint(1, 6))) for _ in entities]
        logs = [
            {
                "sync_job_id": job_id,
                "location_id": HOTEL_ID,
                "sync_type": "delta_pull",
                "operation": "pull",
                "entity_count": count,
                "status": "completed",
                "duration_ms": int(step.total_seconds() * 1000),
                "error_details": None,
                "started_at": started + step * index,
                "completed_at": started + step * (index + 1),
            }
            for index, count in enumerate(counts)
        ]
        job = {
            "id": job_id,
            "location_id": HOTEL_ID,
            "trigger": "scheduled",
            "entity_types": list(entities),
            "status": "completed",
            "pulled_count": sum(counts),
            "applied_count": sum(counts),
            "conflict_count": 0,
            "error_count": 0,
            "error_message": None,
            "started_at": started,
            "completed_at": finished_at,
        }
        return [job], logs

    def add_room_types(self) -> None:
        for room_type in ROOM_TYPES:
            service = {
                "id": self.ids.new("svc"),
                "location_id": HOTEL_ID,
                "local_service_id": f"RT-{room_type.code}",
                "name": room_type.name,
                "category": "room",
                "skill": room_type.code,
                "description": room_type.description,
                "duration_minutes": NIGHT_MINUTES,
                "price_minor": room_type.rate_minor,
                "currency": "GBP",
                "is_active": True,
                "created_at": self.joined,
                "updated_at": self.joined + timedelta(days=10),
            }
            self.service_rows.append(service)
            self.room_type_of[room_type.code] = service
            self.rooms_of[room_type.code] = []
            for number in room_type.rooms:
                room_id = self.ids.new("res")
                self.rooms_of[room_type.code].append(room_id)
                self.local_room[room_id] = number
                self.resource_rows.append(
                    {
                        "id": room_id,
                        "location_id": HOTEL_ID,
                        "local_resource_id": number,
                        "kind": "room",
                        "skill": room_type.code,
                        "name": f"Room {number}",
                        "title": room_type.name,
                        "capacity": room_type.max_occupancy,
                        "is_active": True,
                        "created_at": self.joined,
                        "updated_at": self.joined + timedelta(days=5),
                    }
                )

    def add_guests(self, customers: tuple[CustomerPlan, ...]) -> list[CustomerPlan]:
        guests = self.rng.sample(sorted(customers, key=lambda c: c.id), GUEST_COUNT)
        for number, guest in enumerate(guests, start=FIRST_GUEST_NUMBER):
            self.mapping_rows.append(
                {
                    "customer_id": guest.id,
                    "location_id": HOTEL_ID,
                    "local_customer_id": f"G-{number}",
                    "loyalty_points": self.rng.randint(0, 20) * 50,
                    # After every demo customer exists (150 days ago at the latest), before their first stay.
                    "created_at": self.now - timedelta(days=self.rng.randint(110, 140)),
                }
            )
        return guests

    def _status(self, start: datetime, end: datetime) -> str:
        if start <= self.now < end:
            return "confirmed"  # in the house right now
        table = FUTURE_STATUSES if start > self.now else PAST_STATUSES
        return self.rng.choices([status for status, _ in table], weights=[weight for _, weight in table])[0]

    def try_stay(self, guest: CustomerPlan, number: int) -> bool:
        rng = self.rng
        room_type = rng.choices(ROOM_TYPES, weights=[t.popularity for t in ROOM_TYPES])[0]
        check_in = self.now.astimezone(ZONE).date() + timedelta(days=rng.randint(1 - WINDOW_DAYS, WINDOW_DAYS - 1))
        nights = rng.randint(1, MAX_NIGHTS)
        dates = {check_in + timedelta(days=night) for night in range(nights)}
        free = [room for room in self.rooms_of[room_type.code] if not dates & self.taken[room]]
        if not free:
            return False
        room_id = rng.choice(free)
        start, end = stay_bounds(ZONE, check_in, check_in + timedelta(days=nights))
        status = self._status(start, end)
        if status != "cancelled":
            self.taken[room_id] |= dates
        created = min(start - timedelta(days=rng.randint(1, 45)), self.now - timedelta(hours=rng.randint(1, 72)))
        updated = created if status in ("pending", "confirmed") else min(max(created, end), self.now)
        price = nights * room_type.rate_minor
        booking_id = self.ids.new("bkg")
        self.booking_rows.append(
            {
                "id": booking_id,
                "originating_location_id": HOTEL_ID,
                "service_location_id": HOTEL_ID,
                "customer_id": guest.id,
                "service_id": self.room_type_of[room_type.code]["id"],
                "resource_id": room_id,
                "local_booking_id": f"RSV-{created.year}-{number:06d}",
                "start_at": start,
                "end_at": end,
                "status": status,
                "price_minor": price,
                "currency": "GBP",
                "notes": rng.choice(("", "", "", "Late arrival", "Cot needed", "Quiet room please")),
                "version": 1 if updated == created else 2,
                "created_at": created,
                "updated_at": updated,
                "reported_payment": "paid" if status == "completed" else None,
                "reported_paid_minor": price if status == "completed" else None,
                "payment_reported_at": updated if status == "completed" else None,
            }
        )
        if status != "cancelled":
            paid = status == "completed"
            for share in split_revenue(price, RATES, RATES):
                self.revenue_rows.append(
                    {
                        "booking_id": booking_id,
                        "location_id": share.location_id,
                        "role": share.role,
                        "share_bp": share.share_bp,
                        "amount_minor": share.amount_minor,
                        "commission_minor": share.commission_minor,
                        "tax_minor": share.tax_minor,
                        "currency": "GBP",
                        "payment_status": "paid" if paid else "pending",
                        "is_cross_location": False,
                        "business_date": check_in,
                        "paid_at": updated if paid else None,
                        "created_at": created,
                    }
                )
        return True


def build_hotel(rng: random.Random, ids: GlobalIds, now: datetime, customers: tuple[CustomerPlan, ...]) -> HotelBook:
    builder = _HotelBuilder(rng, ids, now)
    location_row = builder.location_row()
    builder.add_room_types()
    guests = builder.add_guests(customers)
    job_rows, log_rows = builder.last_sync(location_row["last_sync_at"])
    number = FIRST_RESERVATION_NUMBER
    attempts = 0
    while len(builder.booking_rows) < STAY_COUNT:
        attempts += 1
        if attempts > STAY_COUNT * 50:
            raise RuntimeError("the demo hotel has no room left for more stays")
        if builder.try_stay(rng.choice(guests), number):
            number += 1
    return HotelBook(
        location_row=location_row,
        service_rows=builder.service_rows,
        resource_rows=builder.resource_rows,
        mapping_rows=builder.mapping_rows,
        booking_rows=builder.booking_rows,
        revenue_rows=builder.revenue_rows,
        job_rows=job_rows,
        log_rows=log_rows,
    )
