"""Demo customers: each belongs to a home location, a quarter are also known elsewhere."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from devnet.demo.catalog import (
    EMAIL_DOMAINS_GB,
    EMAIL_DOMAINS_IE,
    FIRST_NAMES,
    IRISH_FIRST_NAMES,
    IRISH_LAST_NAMES,
    LAST_NAMES,
)
from devnet.demo.ids import GlobalIds, Row
from devnet.demo.network import NetworkPlan
from devnet.demo.timing import between

CUSTOMER_COUNT = 500
MULTI_LOCATION_RATE = 0.25
# Home-location weights in network order: the hub draws the most people.
PRIMARY_LOCATION_WEIGHTS = (30, 18, 18, 16, 18)
# Everyone predates the booking window, so no booking is made before its customer exists.
OLDEST_CUSTOMER_DAYS = 1100
NEWEST_CUSTOMER_DAYS = 150


@dataclass(frozen=True, slots=True)
class CustomerPlan:
    id: str
    location_ids: tuple[str, ...]  # home location first
    preferred_staff_id: str | None
    # How often this person books, relative to others: a few regulars, many occasional visitors.
    activity: float

    @property
    def primary_location_id(self) -> str:
        return self.location_ids[0]


@dataclass(frozen=True)
class CustomerBook:
    customers: tuple[CustomerPlan, ...]
    customer_rows: list[Row]
    mapping_rows: list[Row]


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


class _CustomerBuilder:
    def __init__(self, rng: random.Random, ids: GlobalIds, now: datetime, network: NetworkPlan) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.network = network
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.plans: list[CustomerPlan] = []
        self.customer_rows: list[Row] = []
        self.mapping_rows: list[Row] = []

    def _name(self, irish: bool) -> tuple[str, str]:
        if irish:
            return self.rng.choice(IRISH_FIRST_NAMES), self.rng.choice(IRISH_LAST_NAMES)
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def _email(self, first: str, last: str, irish: bool) -> str:
        first_slug, last_slug = _ascii_slug(first), _ascii_slug(last)
        domains = EMAIL_DOMAINS_IE if irish else EMAIL_DOMAINS_GB
        while True:
            number = self.rng.choice((self.rng.randint(1, 99), self.rng.randint(1960, 2006)))
            local = self.rng.choice(
                (f"{first_slug}.{last_slug}{number}", f"{first_slug[0]}{last_slug}{number}", f"{first_slug}{number}")
            )
            email = f"{local}@{self.rng.choice(domains)}"
            if email not in self.emails:
                self.emails.add(email)
                return email

    def _phone(self, irish: bool) -> str:
        while True:
            if irish:
                phone = f"+3538{self.rng.choice('35679')}{self.rng.randrange(10**7):07d}"
            else:
                phone = f"+447{self.rng.randrange(10**9):09d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _preferred_staff(self, location_id: str) -> str | None:
        staff = [r.id for r in self.network.resources if r.location_id == location_id and r.kind == "staff"]
        return self.rng.choice(staff) if self.rng.random() < 0.4 else None

    def add_customer(self) -> None:
        rng = self.rng
        location_ids = [location.id for location in self.network.locations]
        primary = rng.choices(location_ids, weights=PRIMARY_LOCATION_WEIGHTS)[0]
        others = [location_id for location_id in location_ids if location_id != primary]
        extra = rng.sample(others, rng.choice((1, 1, 1, 2, 2, 3))) if rng.random() < MULTI_LOCATION_RATE else []
        irish = self.network.location(primary).currency == "EUR"
        first, last = self._name(irish=irish if rng.random() < 0.85 else not irish)
        email = self._email(first, last, irish) if rng.random() > 0.03 else None
        phone = self._phone(irish) if email is None or rng.random() > 0.06 else None
        customer_id = self.ids.new("cus")
        created_at = self.now - timedelta(
            days=rng.randint(NEWEST_CUSTOMER_DAYS, OLDEST_CUSTOMER_DAYS), minutes=rng.randint(0, 1439)
        )
        edited = rng.random() < 0.6
        updated_at = between(rng, created_at, self.now) if edited else created_at
        preferred_staff_id = self._preferred_staff(primary)
        self.plans.append(CustomerPlan(customer_id, (primary, *extra), preferred_staff_id, rng.lognormvariate(0, 0.7)))
        self.customer_rows.append(
            {
                "id": customer_id,
                "primary_location_id": primary,
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
                "preferences": {
                    "preferred_staff": preferred_staff_id,
                    "contact": "sms" if email is None else rng.choice(("email", "email", "sms", "phone")),
                    "language": "en-IE" if irish else "en-GB",
                },
                "consents": {
                    "marketing": rng.random() < 0.55,
                    # Known at several sites means they agreed to share their profile.
                    "data_sharing": bool(extra) or rng.random() < 0.3,
                    "recorded_at": created_at.isoformat(),
                },
                "version": rng.randint(2, 4) if edited else 1,
                "last_sync_at": self.network.location(primary).last_sync_at,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        self._add_mappings(customer_id, primary, extra, created_at)

    def _add_mappings(self, customer_id: str, primary: str, extra: list[str], created_at: datetime) -> None:
        # Other sites learnt of the customer later, still before the booking window opened.
        latest_join = self.now - timedelta(days=NEWEST_CUSTOMER_DAYS - 20)
        for location_id in (primary, *extra):
            joined = created_at
            if location_id != primary:
                joined = between(self.rng, created_at, latest_join)
            self.mapping_rows.append(
                {
                    "customer_id": customer_id,
                    "location_id": location_id,
                    "local_customer_id": self.network.location(location_id).local_ids.customer(),
                    "loyalty_points": self.rng.randint(0, 60) * 10
                    if location_id == primary
                    else self.rng.randint(0, 15) * 10,
                    "created_at": joined,
                }
            )


def build_customers(rng: random.Random, ids: GlobalIds, now: datetime, network: NetworkPlan) -> CustomerBook:
    builder = _CustomerBuilder(rng, ids, now, network)
    for _ in range(CUSTOMER_COUNT):
        builder.add_customer()
    return CustomerBook(tuple(builder.plans), builder.customer_rows, builder.mapping_rows)
