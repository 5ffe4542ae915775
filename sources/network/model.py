"""What a location of the network is, as the network file and run-time registration both state it.

One model (`LocationFields`) validates a location however it arrives: a `[[locations]]` entry of the TOML
network file (credentials named by where they come from) or a registration at run time (credentials given
as values). Both turn into the same `locations` row (`row_values`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sources.connectors.records import EntityType

Kind = Literal["bookingx", "onebooking", "platform", "pms"]

# What each kind's connector reads from its credentials (sources/connectors): the gateway uses these itself,
# so they are kept encrypted (retrievable), never hashed.
OUTBOUND_CREDENTIALS: tuple[str, ...] = ("api_key", "api_secret", "client_id", "client_secret", "webhook_secret")
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "bookingx": ("api_key", "api_secret"),  # the handshake's key and HMAC secret
    "platform": ("client_id", "client_secret"),  # OAuth2 client credentials
    "pms": ("api_key",),  # X-API-Key on every call
    "onebooking": ("webhook_secret",),  # signs the webhooks sent back to the website
}
# The key a location presents to the gateway (OneBooking's X-API-Key, later the BookingX handshake): only its
# keyed hash is stored, so it can be checked but never read back.
INBOUND_API_KEY = "inbound_api_key"
SECRET_NAMES = frozenset((*OUTBOUND_CREDENTIALS, INBOUND_API_KEY))

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
BASIS_POINTS_PER_PERCENT = 100


def _percent(value: Decimal, name: str) -> Decimal:
    # The row keeps basis points: 12.5 % is 1250 bp; anything finer would be silently rounded.
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{name} has more than two decimals ({value})")
    return value


class OpeningHours(BaseModel):
    """Monday..Sunday as [open hour, close hour] in local time; a day left out is closed."""

    model_config = ConfigDict(extra="forbid")

    monday: tuple[int, int] | None = None
    tuesday: tuple[int, int] | None = None
    wednesday: tuple[int, int] | None = None
    thursday: tuple[int, int] | None = None
    friday: tuple[int, int] | None = None
    saturday: tuple[int, int] | None = None
    sunday: tuple[int, int] | None = None

    @field_validator(*DAYS)
    @classmethod
    def _hours(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not 0 <= value[0] < value[1] <= 24:
            raise ValueError(f"hours must be [open, close] with 0 <= open < close <= 24, not {list(value)}")
        return value

    def as_row(self) -> list[list[int] | None]:
        return [None if (hours := getattr(self, day)) is None else list(hours) for day in DAYS]


class SyncSettings(BaseModel):
    """Per-location overrides of the network's sync settings (stored as locations.sync_settings)."""

    model_config = ConfigDict(extra="forbid")

    sync_frequency: Literal["realtime", "hourly", "daily"] | None = None
    conflict_resolution: Literal["hub_wins", "node_wins", "newest", "manual"] | None = None
    batch_size: int | None = Field(default=None, ge=1, le=1000)
    entities: list[EntityType] | None = None


class LocationFields(BaseModel):
    """A location's description, checked before anything is written."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=SLUG, description="slug, unique across the network")
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    base_url: str = Field(max_length=500)
    timezone: str = Field(max_length=64)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=100)
    commission_rate: Decimal = Field(default=Decimal(0), ge=0, le=100)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    hub: bool = False
    town: str = Field(min_length=1, max_length=120)
    opening_hours: OpeningHours | None = None
    sync_settings: SyncSettings = Field(default_factory=SyncSettings)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f'not an http(s) URL "{value}"')
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'unknown time zone "{value}"') from None
        return value

    @field_validator("tax_rate")
    @classmethod
    def _tax(cls, value: Decimal) -> Decimal:
        return _percent(value, "tax_rate")

    @field_validator("commission_rate")
    @classmethod
    def _commission(cls, value: Decimal) -> Decimal:
        return _percent(value, "commission_rate")

    def row_values(self) -> dict[str, Any]:
        """The `locations` row's columns this description decides (status, heartbeat and sync are the gateway's)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "is_hub": self.hub,
            "town": self.town,
            "timezone": self.timezone,
            "currency": self.currency,
            "tax_rate_bp": int(self.tax_rate * BASIS_POINTS_PER_PERCENT),
            "commission_rate_bp": int(self.commission_rate * BASIS_POINTS_PER_PERCENT),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "opening_hours": None if self.opening_hours is None else self.opening_hours.as_row(),
            "sync_settings": self.sync_settings.model_dump(mode="json", exclude_none=True),
        }


def missing_credentials(kind: str, present: set[str]) -> list[str]:
    """The credentials this kind's connector needs that are not given."""
    return [name for name in REQUIRED_CREDENTIALS[kind] if name not in present]


class RegisteredCredentials(BaseModel):
    """Credentials given as values at run-time registration: the ones the gateway uses with the location."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = Field(default=None, min_length=1, max_length=500)
    api_secret: str | None = Field(default=None, min_length=1, max_length=500)
    client_id: str | None = Field(default=None, min_length=1, max_length=500)
    client_secret: str | None = Field(default=None, min_length=1, max_length=500)
    webhook_secret: str | None = Field(default=None, min_length=1, max_length=500)

    def values(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class RegisteredLocation(LocationFields):
    """A location joining at run time: as a network file entry, with its outbound credentials as values (its
    inbound API key is generated by the gateway and shown once)."""

    credentials: RegisteredCredentials = Field(default_factory=RegisteredCredentials)

    @field_validator("credentials")
    @classmethod
    def _enough_credentials(cls, value: RegisteredCredentials, info: ValidationInfo) -> RegisteredCredentials:
        kind = info.data.get("kind")  # absent when the kind itself was invalid (that error is reported)
        missing = [] if kind is None else missing_credentials(kind, set(value.values()))
        if missing:
            raise ValueError(f"a {kind} location needs {', '.join(missing)}")
        return value
