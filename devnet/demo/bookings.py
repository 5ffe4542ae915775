"""Demo bookings around "now" and the revenue each earns, without ever double-booking a resource."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from devnet.demo.catalog import BOOKING_NOTES
from devnet.demo.customers import CustomerPlan
from devnet.demo.ids import GlobalIds, Row
from devnet.demo.network import LocationPlan, NetworkPlan, ResourcePlan, ServicePlan, SharePlan
from devnet.demo.timing import between
from sources.cache.revenue import split_revenue

BOOKING_COUNT = 5000
WINDOW_DAYS = 60
CROSS_LOCATION_RATE = 0.125
ORIGINATING_SHARE_BP = 2_000
SLOT_MINUTES = 15
# Give up rather than loop forever if the network cannot hold the bookings asked for.
MAX_ATTEMPTS_PER_BOOKING = 50

PAST_STATUSES = (("completed", 87), ("cancelled", 8), ("no_show", 5))
FUTURE_STATUSES = (("confirmed", 78), ("pending", 16), ("cancelled", 6))


@dataclass(frozen=True)
class BookingBook:
    booking_rows: list[Row]
    revenue_rows: list[Row]
    cross_location_count: int


def _slots(start: datetime, duration_minutes: int) -> range:
    first = int(start.timestamp()) // (SLOT_MINUTES * 60)
    return range(first, first + duration_minutes // SLOT_MINUTES)


class _ResourceCalendar:
    """Which quarter hours each resource is taken, and how much of each share's weekly cap is used."""

    def __init__(self) -> None:
        self._taken: dict[str, set[int]] = defaultdict(set)
        self._shared_minutes: dict[tuple[str, str, int, int], int] = defaultdict(int)

    def is_free(self, resource_id: str, start: datetime, duration_minutes: int) -> bool:
        taken = self._taken[resource_id]
        return not any(slot in taken for slot in _slots(start, duration_minutes))

    def within_share_cap(self, share: SharePlan, local_start: datetime, duration_minutes: int) -> bool:
        used = self._shared_minutes[self._week_key(share, local_start)]
        return used + duration_minutes <= share.max_minutes_per_week

    def take(
        self,
        resource_id: str,
        start: datetime,
        duration_minutes: int,
        share: SharePlan | None,
        local_start: datetime,
    ) -> None:
        self._taken[resource_id].update(_slots(start, duration_minutes))
        if share is not None:
            self._shared_minutes[self._week_key(share, local_start)] += duration_minutes

    @staticmethod
    def _week_key(share: SharePlan, local_start: datetime) -> tuple[str, str, int, int]:
        year, week, _ = local_start.isocalendar()
        return share.resource_id, share.location_id, year, week


class _BookingScheduler:
    def __init__(
        self,
        rng: random.Random,
        ids: GlobalIds,
        now: datetime,
        network: NetworkPlan,
        customers: tuple[CustomerPlan, ...],
    ) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.network = network
        self.calendar = _ResourceCalendar()
        self.customers = customers
        self.customer_weights = [customer.activity for customer in customers]
        self.travellers = [customer for customer in customers if len(customer.location_ids) > 1]
        self.traveller_weights = [customer.activity for customer in self.travellers]
        self.services_at: dict[str, list[ServicePlan]] = defaultdict(list)
        for service in network.services:
            self.services_at[service.location_id].append(service)
        # Who can deliver a skill at a location: its own resources, then those lent to it.
        self.candidates: dict[tuple[str, str], list[tuple[ResourcePlan, SharePlan | None]]] = defaultdict(list)
        for resource in network.resources:
            self.candidates[resource.location_id, resource.skill].append((resource, None))
        resources = {resource.id: resource for resource in network.resources}
        for share in network.shares:
            lent = resources[share.resource_id]
            self.candidates[share.location_id, lent.skill].append((lent, share))
        self.booking_rows: list[Row] = []
        self.revenue_rows: list[Row] = []
        self.cross_location_count = 0

    def _pick_customer_and_locations(self) -> tuple[CustomerPlan, str, str]:
        rng = self.rng
        if rng.random() < CROSS_LOCATION_RATE:
            customer = rng.choices(self.travellers, weights=self.traveller_weights)[0]
            # Usually booked through the home site's own channels, for a service somewhere else.
            originating = customer.primary_location_id if rng.random() < 0.7 else rng.choice(customer.location_ids)
            service_location = rng.choice([loc for loc in customer.location_ids if loc != originating])
            return customer, originating, service_location
        customer = rng.choices(self.customers, weights=self.customer_weights)[0]
        location = customer.primary_location_id if rng.random() < 0.85 else rng.choice(customer.location_ids)
        return customer, location, location

    def _pick_start(self, location: LocationPlan, service: ServicePlan) -> datetime | None:
        """A quarter-hour start inside the location's local opening hours, or None on a closed day."""
        local_today = self.now.astimezone(location.zone).date()
        day = local_today + timedelta(days=self.rng.randint(-WINDOW_DAYS, WINDOW_DAYS))
        hours = location.opening_hours[day.weekday()]
        if hours is None:
            return None
        opens, closes = hours[0] * 60, hours[1] * 60
        minute = self.rng.randrange(opens, closes - service.duration_minutes + 1, SLOT_MINUTES)
        local_start = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=location.zone)
        start = local_start.astimezone(UTC)
        if abs(start - self.now) > timedelta(days=WINDOW_DAYS):
            return None
        return start

    def _pick_status(self, start: datetime, end: datetime) -> str:
        if start > self.now:
            table = FUTURE_STATUSES
        elif end <= self.now:
            table = PAST_STATUSES
        else:
            return "confirmed"  # in progress right now
        return self.rng.choices([status for status, _ in table], weights=[weight for _, weight in table])[0]

    def _pick_resource(
        self, customer: CustomerPlan, service: ServicePlan, start: datetime, needs_free_slot: bool
    ) -> tuple[ResourcePlan, SharePlan | None] | None:
        local_start = start.astimezone(self.network.location(service.location_id).zone)
        options = list(self.candidates[service.location_id, service.skill])
        self.rng.shuffle(options)
        # Regulars get their favourite when they can.
        options.sort(key=lambda option: option[0].id != customer.preferred_staff_id)
        for resource, share in options:
            if share is not None and not (
                share.allows(local_start, service.duration_minutes)
                and self.calendar.within_share_cap(share, local_start, service.duration_minutes)
            ):
                continue
            if needs_free_slot and not self.calendar.is_free(resource.id, start, service.duration_minutes):
                continue
            return resource, share
        return None

    def _lifecycle(self, status: str, start: datetime, end: datetime) -> tuple[datetime, datetime, int]:
        """When the booking was made and last changed, and its version; always created before it starts."""
        rng = self.rng
        lead = timedelta(seconds=int(rng.expovariate(1 / (6 * 86_400))) + 3_600)
        created = min(start - min(lead, timedelta(days=60)), self.now - timedelta(minutes=rng.randint(5, 4_320)))
        if status in ("completed", "no_show"):
            updated = min(end + timedelta(minutes=rng.randint(5, 90)), self.now)
        elif status == "cancelled" or (status == "confirmed" and rng.random() < 0.5):
            updated = between(rng, created, min(start, self.now))
        else:
            updated = created
        return created, updated, 1 if updated == created else rng.randint(2, 3)

    def try_booking(self) -> None:
        rng = self.rng
        customer, originating_id, service_location_id = self._pick_customer_and_locations()
        services = self.services_at[service_location_id]
        service = rng.choices(services, weights=[s.popularity for s in services])[0]
        service_location = self.network.location(service_location_id)
        start = self._pick_start(service_location, service)
        if start is None:
            return
        end = start + timedelta(minutes=service.duration_minutes)
        status = self._pick_status(start, end)
        # A cancelled booking gave its slot back, so it may overlap a later booking.
        picked = self._pick_resource(customer, service, start, needs_free_slot=status != "cancelled")
        if picked is None:
            return
        resource, share = picked
        local_start = start.astimezone(service_location.zone)
        if status != "cancelled":
            self.calendar.take(resource.id, start, service.duration_minutes, share, local_start)
        created, updated, version = self._lifecycle(status, start, end)
        booking_id = self.ids.new("bkg")
        self.booking_rows.append(
            {
                "id": booking_id,
                "originating_location_id": originating_id,
                "service_location_id": service_location_id,
                "customer_id": customer.id,
                "service_id": service.id,
                "resource_id": resource.id,
                "local_booking_id": "",  # numbered per location once all bookings exist
                "start_at": start,
                "end_at": end,
                "status": status,
                "price_minor": service.price_minor,
                "currency": service.currency,
                "notes": rng.choice(BOOKING_NOTES) if rng.random() < 0.08 else "",
                "version": version,
                "created_at": created,
                "updated_at": updated,
                # A completed booking was paid at its location, which says so (sources.cache.payments).
                "reported_payment": "paid" if status == "completed" else None,
                "reported_paid_minor": service.price_minor if status == "completed" else None,
                "payment_reported_at": updated if status == "completed" else None,
            }
        )
        if originating_id != service_location_id:
            self.cross_location_count += 1
        if status != "cancelled":
            self._add_revenue(
                booking_id, originating_id, service_location, service, status, local_start, created, updated
            )

    def _add_revenue(
        self,
        booking_id: str,
        originating_id: str,
        service_location: LocationPlan,
        service: ServicePlan,
        status: str,
        local_start: datetime,
        created: datetime,
        updated: datetime,
    ) -> None:
        paid = status == "completed"
        originating = self.network.location(originating_id)
        for share in split_revenue(
            service.price_minor, originating.rates, service_location.rates, ORIGINATING_SHARE_BP
        ):
            self.revenue_rows.append(
                {
                    "booking_id": booking_id,
                    "location_id": share.location_id,
                    "role": share.role,
                    "share_bp": share.share_bp,
                    "amount_minor": share.amount_minor,
                    "commission_minor": share.commission_minor,
                    "tax_minor": share.tax_minor,
                    "currency": service.currency,
                    "payment_status": "paid" if paid else "pending",
                    "is_cross_location": originating_id != service_location.id,
                    "business_date": local_start.date(),
                    "paid_at": updated if paid else None,
                    "created_at": created,
                }
            )

    def number_bookings_per_location(self) -> None:
        """Local booking ids count up in the order each location took the bookings."""
        for row in sorted(self.booking_rows, key=lambda row: (row["created_at"], row["id"])):
            row["local_booking_id"] = self.network.location(row["service_location_id"]).local_ids.booking()


def build_bookings(
    rng: random.Random,
    ids: GlobalIds,
    now: datetime,
    network: NetworkPlan,
    customers: tuple[CustomerPlan, ...],
) -> BookingBook:
    scheduler = _BookingScheduler(rng, ids, now, network, customers)
    attempts = 0
    while len(scheduler.booking_rows) < BOOKING_COUNT:
        attempts += 1
        if attempts > BOOKING_COUNT * MAX_ATTEMPTS_PER_BOOKING:
            raise RuntimeError("the demo network has no room left for more bookings")
        scheduler.try_booking()
    scheduler.number_bookings_per_location()
    return BookingBook(scheduler.booking_rows, scheduler.revenue_rows, scheduler.cross_location_count)
