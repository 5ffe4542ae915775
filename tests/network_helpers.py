"""Simulated locations of each kind served as separate HTTP servers, and network files naming them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devnet.simulators.bookingx import bookingx_app, bookingx_local_ids
from devnet.simulators.onebooking import onebooking_app, onebooking_local_ids
from devnet.simulators.platform import platform_app, platform_local_ids
from devnet.simulators.pms import pms_app, pms_local_ids
from devnet.simulators.server import SimulatedLocation, SimulatorThread
from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking, StoredCustomer, StoredResource, StoredService

LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
DAY = datetime(2031, 3, 4, tzinfo=UTC)  # a Tuesday

# id -> kind, town, (latitude, longitude)
SITES: dict[str, tuple[str, str, tuple[float, float]]] = {
    "dublin-docks": ("bookingx", "Dublin", (53.3478, -6.2597)),
    "galway-studio": ("platform", "Galway", (53.2707, -9.0568)),
    "cork-harbour-hotel": ("pms", "Cork", (51.8985, -8.4756)),
    "kilkenny-web": ("onebooking", "Kilkenny", (52.6541, -7.2448)),
}
CREDENTIAL_NAMES = {
    "bookingx": ("api_key", "api_secret"),
    "platform": ("client_id", "client_secret"),
    "pms": ("api_key",),
    "onebooking": ("webhook_secret", "inbound_api_key"),
}


@dataclass
class Site:
    location_id: str
    kind: str
    store: LocationStore
    location: SimulatedLocation
    credentials: dict[str, str] = field(repr=False)


def build_store(location_id: str, kind: str) -> LocationStore:
    ids = {
        "bookingx": bookingx_local_ids,
        "platform": platform_local_ids,
        "pms": pms_local_ids,
        "onebooking": onebooking_local_ids,
    }[kind](11)
    store = LocationStore(location_id, timezone="Europe/Dublin", currency="EUR", opening_hours=None, new_id=ids)
    store.services["SV-1"] = StoredService("SV-1", "Standard", "room", "std", 30, 1000, "EUR")
    resource_kind = "room" if kind == "pms" else "staff"
    for local_id in ("R-1", "R-2"):
        store.resources[local_id] = StoredResource(
            local_id, resource_kind, f"Res {local_id}", "", "std", updated_at=LONG_AGO
        )
    for n in range(3):
        local_id = f"C-{n:03d}"
        store.customers[local_id] = StoredCustomer(
            local_id, f"First{n}", f"Last{n}", f"{location_id}{n}@example.ie", None
        )
        store.customers[local_id].updated_at = LONG_AGO
    start = DAY + (timedelta(hours=15) if kind == "pms" else timedelta(hours=10))
    end = start + (timedelta(hours=20) if kind == "pms" else timedelta(minutes=30))
    store.bookings["B-1"] = StoredBooking(
        "B-1", "C-000", "SV-1", "R-1", start, end, "confirmed", 1000, "EUR", updated_at=LONG_AGO
    )
    return store


def credentials_for(location_id: str, kind: str) -> dict[str, str]:
    return {name: f"{name}-{location_id}-not-in-any-dump-7f3a" for name in CREDENTIAL_NAMES[kind]}


def start_site(thread: SimulatorThread, location_id: str) -> Site:
    kind = SITES[location_id][0]
    store = build_store(location_id, kind)
    credentials = credentials_for(location_id, kind)
    if kind == "bookingx":
        app = bookingx_app(
            store, node_id=location_id, api_key=credentials["api_key"], api_secret=credentials["api_secret"]
        )
    elif kind == "platform":
        app = platform_app(
            store,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            rate_limit_per_second=1000,
            burst=1000,
        )
    elif kind == "pms":
        app = pms_app(
            store, hotel_id=location_id, api_key=credentials["api_key"], jwt_secret="pms-own-jwt-secret-32-bytes-long!"
        )
    else:
        app = onebooking_app(store, webhook_secret=credentials["webhook_secret"])
    location = SimulatedLocation(location_id, app)
    thread.run(location.start())
    return Site(location_id, kind, store, location, credentials)


def env_name(location_id: str, name: str) -> str:
    return f"TEST_NET_{location_id.replace('-', '_').upper()}_{name.upper()}"


def location_toml(site: Site, secrets_dir: Path, *, name: str | None = None, file_for: str | None = None) -> str:
    """A [[locations]] entry for the site: credentials from environment variables, one (`file_for`) from a file."""
    kind, town, (latitude, longitude) = SITES[site.location_id]
    lines = [
        "[[locations]]",
        f'id = "{site.location_id}"',
        f'name = "{name or town + " " + kind}"',
        f'kind = "{kind}"',
        f'base_url = "{site.location.url}"',
        'timezone = "Europe/Dublin"',
        'currency = "EUR"',
        "tax_rate = 23",
        "commission_rate = 12.5",
        f"latitude = {latitude}",
        f"longitude = {longitude}",
        f"hub = {'true' if kind == 'bookingx' else 'false'}",
        f'town = "{town}"',
        "opening_hours = { monday = [9, 18], tuesday = [9, 18], saturday = [10, 16] }",
        "[locations.sync_settings]",
        'sync_frequency = "hourly"',
        "[locations.credentials]",
    ]
    for credential in CREDENTIAL_NAMES[kind]:
        if credential == file_for:
            path = secrets_dir / f"{site.location_id}-{credential}"
            path.write_text(site.credentials[credential] + "\n")
            lines.append(f'{credential}_file = "{path.name}"')
        else:
            lines.append(f'{credential}_env = "{env_name(site.location_id, credential)}"')
    return "\n".join(lines) + "\n"
