"""A source website's packages: the services its pushed bookings name by `package_name` (a OneBooking website
offers nothing to pull, so what it sells is stated when it registers)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from resolvers import bounds
from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from sources.cache.models import Location, Service

PACKAGES_MAX = 100
DURATION_MAX_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    duration_minutes: int
    price_minor: int


def _local_id(name: str) -> str:
    # Stable for a name: the same package stated twice is the same service.
    return "pkg-" + hashlib.sha256(name.casefold().encode()).hexdigest()[:16]


async def add_packages(context: Context, location_id: str, packages: Sequence[Package]) -> list[str]:
    """The location's services for these packages (in its currency), made in one transaction; their ids."""
    if len(packages) > PACKAGES_MAX:
        raise InvalidInputError(f"at most {PACKAGES_MAX} packages", field="packages")
    names = [bounds.text("packages.name", package.name, 200, min_length=1) for package in packages]
    if len({name.casefold() for name in names}) != len(names):
        raise InvalidInputError("two packages have the same name", field="packages")
    for package in packages:
        bounds.integer("packages.duration_minutes", package.duration_minutes, 1, DURATION_MAX_MINUTES)
        bounds.integer("packages.price", package.price_minor, 0, 10**15)
    made: list[str] = []
    async with context.services.writer.transaction() as session:
        location = await session.get(Location, location_id)
        if location is None:
            raise NotFoundError(f"no location {location_id}", field="locationId")
        for package in packages:
            local_id = _local_id(package.name)
            service_id = "svc_" + hashlib.sha256(f"{location_id}\x00{local_id}".encode()).hexdigest()[:12]
            session.add(
                Service(
                    id=service_id,
                    location_id=location_id,
                    local_service_id=local_id,
                    name=package.name,
                    category="package",
                    skill=None,
                    duration_minutes=package.duration_minutes,
                    price_minor=package.price_minor,
                    currency=location.currency,
                )
            )
            made.append(service_id)
    return made
