"""Which locations can serve something near a point: the one rule pooled availability and createBooking use.

- The point must be on the map (latitude -90..90, longitude -180..180): INVALID_INPUT on `near`.
- The reach must be more than zero km: INVALID_INPUT on `maxDistanceKm`.
- An offline location (its last heartbeat failed) stays in, marked `offline`: pooled availability names it
  UNAVAILABLE without asking it, createBooking leaves it out (it cannot take a booking now).
- With a point, a location farther than the reach is left out, and the nearest come first
  (candidates equally far keep the order they were given in).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from resolvers.errors import InvalidInputError
from sources.cache.vocabulary import LocationStatus

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float


class Sited(Protocol):
    """A location as a cache row or an ORM object: where it is and whether it answers."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


T = TypeVar("T")
L = TypeVar("L", bound=Sited)


@dataclass(frozen=True, slots=True)
class Nearby(Generic[T, L]):
    """A candidate (a service, say) whose location is within reach; its distance when there is a point."""

    candidate: T
    location: L
    distance_km: float | None
    offline: bool = False


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def require_point(point: GeoPoint | None) -> None:
    """A point, when given, is on the map; checked before anything is read or written."""
    if point is None:
        return
    if not (-90 <= point.latitude <= 90 and -180 <= point.longitude <= 180):
        raise InvalidInputError("`near` is not a point on the map", field="near")


def require_reach(max_distance_km: float) -> None:
    if not max_distance_km > 0:
        raise InvalidInputError("`maxDistanceKm` must be greater than zero", field="maxDistanceKm")


def serving_near(
    candidates: Iterable[tuple[T, L]], point: GeoPoint | None, max_distance_km: float
) -> list[Nearby[T, L]]:
    """The candidates whose location is (with a point) within reach, nearest first, offline ones marked."""
    require_point(point)
    if point is not None:
        require_reach(max_distance_km)
    serving: list[Nearby[T, L]] = []
    for candidate, location in candidates:
        km: float | None = None
        if point is not None:
            km = distance_km(point.latitude, point.longitude, location.latitude, location.longitude)
            if km > max_distance_km:
                continue
        serving.append(Nearby(candidate, location, km, offline=location.status == LocationStatus.OFFLINE))
    if point is not None:
        serving.sort(key=lambda nearby: nearby.distance_km or 0.0)
    return serving
