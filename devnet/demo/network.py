"""The demo's locations, their resources (some lent to neighbours) and their priced services."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devnet.demo.catalog import (
    FIRST_NAMES,
    IRISH_FIRST_NAMES,
    IRISH_LAST_NAMES,
    LAST_NAMES,
    LOCATIONS,
    SERVICES,
    SKILLS,
    LocationSpec,
    OpeningHours,
    SkillSpec,
)
from devnet.demo.ids import GlobalIds, LocalIds, Row
from devnet.demo.timing import between
from sources.cache.revenue import LocationRates

SHARED_RESOURCE_COUNT = 9
# Staff and rooms are only lent to sites a short drive away.
SHARING_RADIUS_KM = 80.0


@dataclass(frozen=True, slots=True)
class LocationPlan:
    id: str
    kind: str
    zone: ZoneInfo
    currency: str
    rates: LocationRates
    opening_hours: OpeningHours
    last_sync_at: datetime
    local_ids: LocalIds = field(compare=False)


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    id: str
    location_id: str
    skill: str
    kind: str


@dataclass(frozen=True, slots=True)
class SharePlan:
    """When a borrowing location may book someone else's resource."""

    resource_id: str
    location_id: str
    iso_weekdays: frozenset[int]
    from_minute: int  # minutes after local midnight
    until_minute: int
    max_minutes_per_week: int

    def allows(self, local_start: datetime, duration_minutes: int) -> bool:
        start_minute = local_start.hour * 60 + local_start.minute
        return (
            local_start.isoweekday() in self.iso_weekdays
            and start_minute >= self.from_minute
            and start_minute + duration_minutes <= self.until_minute
        )


@dataclass(frozen=True, slots=True)
class ServicePlan:
    id: str
    location_id: str
    skill: str
    duration_minutes: int
    price_minor: int
    currency: str
    popularity: int


@dataclass(frozen=True)
class NetworkPlan:
    locations: tuple[LocationPlan, ...]
    resources: tuple[ResourcePlan, ...]
    shares: tuple[SharePlan, ...]
    services: tuple[ServicePlan, ...]
    location_rows: list[Row]
    resource_rows: list[Row]
    share_rows: list[Row]
    service_rows: list[Row]

    def location(self, location_id: str) -> LocationPlan:
        return next(location for location in self.locations if location.id == location_id)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _round_to_50(amount: int) -> int:
    return (amount + 25) // 50 * 50


class _NetworkBuilder:
    def __init__(self, rng: random.Random, ids: GlobalIds, now: datetime) -> None:
        self.rng = rng
        self.ids = ids
        self.now = now
        self.location_rows: list[Row] = []
        self.locations: list[LocationPlan] = []
        self.resources: list[ResourcePlan] = []
        self.resource_rows: list[Row] = []
        self.shares: list[SharePlan] = []
        self.share_rows: list[Row] = []
        self.services: list[ServicePlan] = []
        self.service_rows: list[Row] = []
        self._joined: dict[str, datetime] = {}
        self._staff_names: set[str] = set()

    def _ago(self, *, minutes: int = 0, hours: int = 0, days: int = 0, seconds: int = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)

    def add_location(self, spec: LocationSpec) -> None:
        rng = self.rng
        joined = self._ago(days=rng.randint(400, 900), minutes=rng.randint(0, 1439))
        degraded = spec.status == "degraded"
        last_sync_at = self._ago(minutes=rng.randint(35, 50) if degraded else rng.randint(2, 9))
        heartbeat_at = self._ago(seconds=rng.randint(240, 540) if degraded else rng.randint(20, 170))
        self._joined[spec.id] = joined
        self.locations.append(
            LocationPlan(
                id=spec.id,
                kind=spec.kind,
                zone=ZoneInfo(spec.timezone),
                currency=spec.currency,
                rates=LocationRates(spec.id, spec.tax_rate_bp, spec.commission_rate_bp),
                opening_hours=spec.opening_hours,
                last_sync_at=last_sync_at,
                local_ids=LocalIds(spec.kind, rng, self.ids),
            )
        )
        self.location_rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "kind": spec.kind,
                "base_url": f"http://{spec.id}.demo.invalid",
                "is_hub": spec.is_hub,
                "status": spec.status,
                "town": spec.town,
                "timezone": spec.timezone,
                "currency": spec.currency,
                "tax_rate_bp": spec.tax_rate_bp,
                "commission_rate_bp": spec.commission_rate_bp,
                "latitude": spec.latitude,
                "longitude": spec.longitude,
                "version": spec.version,
                "last_heartbeat_at": heartbeat_at,
                "last_sync_at": last_sync_at,
                "opening_hours": [list(hours) if hours else None for hours in spec.opening_hours],
                "sync_settings": {
                    "frequency": "every_15_minutes" if spec.is_hub else "hourly",
                    "conflict_resolution": "hub_wins",
                    "batch_size": 100,
                    "entities": ["customers", "bookings", "resources", "services", "inventory"],
                },
                "created_at": joined,
                "updated_at": max(joined, self._ago(days=rng.randint(1, 30))),
            }
        )

    def _staff_name(self, irish: bool) -> str:
        while True:
            first = self.rng.choice(IRISH_FIRST_NAMES if irish else FIRST_NAMES)
            last = self.rng.choice(IRISH_LAST_NAMES if irish else LAST_NAMES)
            name = f"{first} {last}"
            if name not in self._staff_names:
                self._staff_names.add(name)
                return name

    def add_resources(self, spec: LocationSpec, location: LocationPlan) -> None:
        skills = {skill.name: skill for skill in SKILLS}
        for skill_name, count in spec.resources_per_skill:
            skill: SkillSpec = skills[skill_name]
            for index in range(count):
                resource_id = self.ids.new("res")
                is_staff = skill.resource_kind == "staff"
                name = (
                    self._staff_name(irish=spec.currency == "EUR") if is_staff else self.rng.choice(skill.fixed_names)
                )
                created_at = self._joined[spec.id] + timedelta(days=self.rng.randint(0, 200))
                self.resources.append(ResourcePlan(resource_id, spec.id, skill.name, skill.resource_kind))
                self.resource_rows.append(
                    {
                        "id": resource_id,
                        "location_id": spec.id,
                        "local_resource_id": location.local_ids.resource(skill.resource_kind),
                        "kind": skill.resource_kind,
                        "skill": skill.name,
                        "name": name,
                        # The first of a skill leads the team.
                        "title": skill.titles[0] if index == 0 else self.rng.choice(skill.titles),
                        "capacity": 1,
                        "is_active": True,
                        "created_at": created_at,
                        "updated_at": max(created_at, self._ago(days=self.rng.randint(1, 60))),
                    }
                )

    def add_shares(self) -> None:
        specs = {spec.id: spec for spec in LOCATIONS}

        def neighbours(location_id: str) -> list[str]:
            here = specs[location_id]
            return [
                other.id
                for other in LOCATIONS
                if other.id != location_id
                and distance_km(here.latitude, here.longitude, other.latitude, other.longitude) <= SHARING_RADIUS_KM
            ]

        lendable = [resource for resource in self.resources if neighbours(resource.location_id)]
        # Lent before the booking window opens, so every borrowed booking falls under a share.
        resource_created = {row["id"]: row["created_at"] for row in self.resource_rows}
        for resource in self.rng.sample(lendable, SHARED_RESOURCE_COUNT):
            candidates = neighbours(resource.location_id)
            borrowers = self.rng.sample(candidates, min(len(candidates), self.rng.choice((1, 1, 2))))
            for borrower in borrowers:
                share = SharePlan(
                    resource_id=resource.id,
                    location_id=borrower,
                    iso_weekdays=frozenset(self.rng.sample(range(1, 7), self.rng.randint(2, 3))),
                    from_minute=self.rng.choice((9, 10, 12)) * 60,
                    until_minute=self.rng.choice((16, 17, 18)) * 60,
                    max_minutes_per_week=self.rng.choice((8, 12, 16)) * 60,
                )
                self.shares.append(share)
                self.share_rows.append(
                    {
                        "resource_id": resource.id,
                        "location_id": borrower,
                        "rules": {
                            "weekdays": sorted(share.iso_weekdays),
                            "from": _hhmm(share.from_minute),
                            "until": _hhmm(share.until_minute),
                            "max_hours_per_week": share.max_minutes_per_week // 60,
                            "priority": self.rng.randint(1, 3),
                        },
                        "is_active": True,
                        "created_at": between(self.rng, resource_created[resource.id], self._ago(days=130)),
                    }
                )

    def add_services(self, spec: LocationSpec, location: LocationPlan) -> None:
        shared_in = {share.resource_id for share in self.shares if share.location_id == spec.id}
        skills_here = {
            resource.skill for resource in self.resources if resource.location_id == spec.id or resource.id in shared_in
        }
        for service in SERVICES:
            if service.skill not in skills_here:
                continue
            jitter_pct = self.rng.randint(-4, 6)
            price = _round_to_50(service.base_price_minor * spec.price_factor_pct * (100 + jitter_pct) // 10_000)
            service_id = self.ids.new("svc")
            created_at = self._joined[spec.id] + timedelta(days=self.rng.randint(0, 30))
            self.services.append(
                ServicePlan(
                    service_id,
                    spec.id,
                    service.skill,
                    service.duration_minutes,
                    price,
                    spec.currency,
                    service.popularity,
                )
            )
            self.service_rows.append(
                {
                    "id": service_id,
                    "location_id": spec.id,
                    "local_service_id": location.local_ids.service(),
                    "name": service.name,
                    "category": service.category,
                    "skill": service.skill,
                    "description": service.description,
                    "duration_minutes": service.duration_minutes,
                    "price_minor": price,
                    "currency": spec.currency,
                    "is_active": True,
                    "created_at": created_at,
                    "updated_at": max(created_at, self._ago(days=self.rng.randint(1, 90))),
                }
            )


def build_network(rng: random.Random, ids: GlobalIds, now: datetime) -> NetworkPlan:
    builder = _NetworkBuilder(rng, ids, now)
    for spec in LOCATIONS:
        builder.add_location(spec)
    for spec, location in zip(LOCATIONS, builder.locations, strict=True):
        builder.add_resources(spec, location)
    # Shares come before services: a borrowed resource lets a site offer what it has no staff for.
    builder.add_shares()
    for spec, location in zip(LOCATIONS, builder.locations, strict=True):
        builder.add_services(spec, location)
    return NetworkPlan(
        locations=tuple(builder.locations),
        resources=tuple(builder.resources),
        shares=tuple(builder.shares),
        services=tuple(builder.services),
        location_rows=builder.location_rows,
        resource_rows=builder.resource_rows,
        share_rows=builder.share_rows,
        service_rows=builder.service_rows,
    )
