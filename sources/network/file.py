"""The TOML network file: the locations of the network and where each one's credentials come from.

    [[locations]]
    id = "dublin"
    kind = "bookingx"
    ...
    [locations.credentials]
    api_key_env = "DUBLIN_API_KEY"          # an environment variable's name
    api_secret_file = "secrets/dublin"      # or a file (relative to the network file's folder)
    [locations.categories]                  # optional: its own service categories -> the network's
    "Haircuts" = "hair"

A secret is never written in the file itself: `api_key = "..."` is a validation error. Every problem is
reported as one line naming the file, the location (its id, else its place in the file) and the field:

    network.toml: location "dublin": timezone: unknown time zone "Europe/Dubln"

and that includes an environment variable that is unset or a credentials file that cannot be read: the
gateway refuses to start rather than start without a location's credentials.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from sources.network.categories import CATEGORY_MAX_LENGTH, VOCABULARY_MAX
from sources.network.model import (
    INBOUND_API_KEY,
    OUTBOUND_CREDENTIALS,
    SECRET_NAMES,
    LocationFields,
    missing_credentials,
)

MAX_LOCATIONS = 10_000
MAX_SECRET_BYTES = 4096


class NetworkFileError(Exception):
    """The network file is invalid; the message is the one line to show."""


class CredentialSources(BaseModel):
    """Where each credential comes from: `<name>_env` (a variable's name) or `<name>_file` (a path)."""

    model_config = ConfigDict(extra="forbid")

    api_key_env: str | None = Field(default=None, min_length=1, max_length=200)
    api_key_file: str | None = Field(default=None, min_length=1, max_length=1000)
    api_secret_env: str | None = Field(default=None, min_length=1, max_length=200)
    api_secret_file: str | None = Field(default=None, min_length=1, max_length=1000)
    client_id_env: str | None = Field(default=None, min_length=1, max_length=200)
    client_id_file: str | None = Field(default=None, min_length=1, max_length=1000)
    client_secret_env: str | None = Field(default=None, min_length=1, max_length=200)
    client_secret_file: str | None = Field(default=None, min_length=1, max_length=1000)
    webhook_secret_env: str | None = Field(default=None, min_length=1, max_length=200)
    webhook_secret_file: str | None = Field(default=None, min_length=1, max_length=1000)
    inbound_api_key_env: str | None = Field(default=None, min_length=1, max_length=200)
    inbound_api_key_file: str | None = Field(default=None, min_length=1, max_length=1000)

    def source(self, name: str) -> tuple[str, str] | None:
        """("env" | "file", what) for a credential, or None when the file does not give it."""
        env, path = getattr(self, f"{name}_env"), getattr(self, f"{name}_file")
        if env is not None:
            return "env", env
        if path is not None:
            return "file", path
        return None

    def given(self) -> set[str]:
        return {name for name in SECRET_NAMES if self.source(name) is not None}

    def both_given(self) -> str | None:
        return next((n for n in sorted(SECRET_NAMES) if getattr(self, f"{n}_env") and getattr(self, f"{n}_file")), None)


CategoryName = Annotated[str, Field(min_length=1, max_length=CATEGORY_MAX_LENGTH)]


class FileLocation(LocationFields):
    """One `[[locations]]` entry."""

    credentials: CredentialSources = Field(default_factory=CredentialSources)
    # The location's own service category names -> the network's (sources/network/categories.py).
    categories: dict[CategoryName, CategoryName] = Field(default_factory=dict, max_length=VOCABULARY_MAX)

    @field_validator("credentials")
    @classmethod
    def _sources(cls, value: CredentialSources, info: ValidationInfo) -> CredentialSources:
        both = value.both_given()
        if both is not None:
            raise ValueError(f"{both}_env and {both}_file are both given; name one source")
        kind = info.data.get("kind")
        missing = [] if kind is None else missing_credentials(kind, value.given())
        if missing:
            wanted = ", ".join(f"{name}_env or {name}_file" for name in missing)
            raise ValueError(f"a {kind} location needs {wanted}")
        return value


class NetworkFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locations: list[FileLocation] = Field(min_length=1, max_length=MAX_LOCATIONS)


@dataclass(frozen=True)
class NetworkLocation:
    """A location of the file with its credentials read: outbound values, and the inbound key if given."""

    fields: LocationFields
    credentials: dict[str, str] = field(repr=False)
    inbound_api_key: str | None = field(default=None, repr=False)
    categories: dict[str, str] = field(default_factory=dict)  # its own category names -> the network's

    @property
    def id(self) -> str:
        return self.fields.id


@dataclass(frozen=True)
class NetworkFile:
    path: Path
    locations: list[NetworkLocation]

    @property
    def ids(self) -> list[str]:
        return [location.id for location in self.locations]

    @property
    def category_mappings(self) -> dict[str, dict[str, str]]:
        """Per location that maps any: its own category names -> the network's."""
        return {location.id: location.categories for location in self.locations if location.categories}


def _where(raw: Any, index: int) -> str:
    """How a line names a location: its id when it has a usable one, else its place (1-based) in the file."""
    entries = raw.get("locations") if isinstance(raw, Mapping) else None
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    location_id = entry.get("id") if isinstance(entry, Mapping) else None
    if isinstance(location_id, str) and location_id.strip():
        return f'location "{location_id.strip()}"'
    return f"location #{index + 1}"


def error_message(error: ErrorDetails) -> str:
    """What one validation problem says, in the words a network file's author (or a caller) reads."""
    name = str(error["loc"][-1]) if error["loc"] else ""
    if error["type"] == "extra_forbidden" and name in SECRET_NAMES:
        return (
            "a secret is never written in the network file; "
            f"name where it comes from with credentials.{name}_env or credentials.{name}_file"
        )
    if error["type"] == "extra_forbidden":
        return "unknown setting"
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    return error["msg"][0].lower() + error["msg"][1:]


def describe(error: ValidationError, raw: Any, prefix: str) -> str:
    """The first problem as one line: `<prefix>: location "<id>": <field>: <what>`."""
    first = error.errors()[0]
    loc = list(first["loc"])
    where: list[str] = []
    if len(loc) >= 2 and loc[0] == "locations" and isinstance(loc[1], int):
        where.append(_where(raw, loc[1]))
        loc = loc[2:]
    # A value in a list (an opening hour) names its list; the index says nothing to a reader.
    field_name = ".".join(str(part) for part in loc if not isinstance(part, int))
    if field_name:
        where.append(field_name)
    return ": ".join([prefix, *where, error_message(first)])


def _read_secret(kind: str, what: str, base: Path) -> str:
    """A credential from the environment or a file; raises ValueError with the reason."""
    if kind == "env":
        value = os.environ.get(what)
        if value is None:
            raise ValueError(f"environment variable {what} is not set")
        origin = f"environment variable {what}"
    else:
        path = Path(what).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            value = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ValueError(f"cannot read {path}: {reason}") from None
        origin = str(path)
        value = value.strip("\r\n")  # a file written by `echo` ends in a newline that is not the secret's
    if not value.strip():
        raise ValueError(f"{origin} is empty")
    if len(value.encode()) > MAX_SECRET_BYTES:
        raise ValueError(f"{origin} is longer than {MAX_SECRET_BYTES} bytes")
    return value


def _resolved(entry: FileLocation, base: Path, prefix: str) -> NetworkLocation:
    values: dict[str, str] = {}
    for name in (*OUTBOUND_CREDENTIALS, INBOUND_API_KEY):
        source = entry.credentials.source(name)
        if source is None:
            continue
        try:
            values[name] = _read_secret(*source, base)
        except ValueError as error:
            raise NetworkFileError(
                f'{prefix}: location "{entry.id}": credentials.{name}_{source[0]}: {error}'
            ) from None
    inbound = values.pop(INBOUND_API_KEY, None)
    fields = LocationFields.model_validate(entry.model_dump(exclude={"credentials", "categories"}))
    return NetworkLocation(fields=fields, credentials=values, inbound_api_key=inbound, categories=entry.categories)


def parse_network(text: str, *, path: Path) -> NetworkFile:
    """Validate a network file's text and read every credential it names."""
    prefix = str(path)
    try:
        # Decimals straight from the text: a rate of 12.5 % never passes through a binary float.
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise NetworkFileError(f"{prefix}: not valid TOML: {error}") from None
    try:
        model = NetworkFileModel.model_validate(raw)
    except ValidationError as error:
        raise NetworkFileError(describe(error, raw, prefix)) from None
    seen: set[str] = set()
    for entry in model.locations:
        if entry.id in seen:
            raise NetworkFileError(f'{prefix}: location "{entry.id}": id: names two locations')
        seen.add(entry.id)
    return NetworkFile(path, [_resolved(entry, path.parent, prefix) for entry in model.locations])


def load_network_file(path: Path) -> NetworkFile:
    """Read and validate the network file and every credential it names; NetworkFileError says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise NetworkFileError(f"{path}: cannot read the network file: {reason}") from None
    return parse_network(text, path=path)
