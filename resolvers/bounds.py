"""Every client input's bounds, in one place: named limits and small validators.

Each validator raises InvalidInputError naming the input field (its GraphQL name) and returns the value,
so a resolver checks its whole input before it claims an idempotency key, writes a row or queues an outbox
message. GraphQL fields and REST shims call the same resolver functions and so get the same checks.

String lengths never exceed the cache column the value lands in (sources/cache/models): PostgreSQL would
refuse a longer value with "value too long" while SQLite would store it as given, so the gateway refuses it
first and both backends behave alike. Lengths count characters (code points), as VARCHAR(n) does.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from resolvers.errors import InvalidInputError

# --- strings, bounded by the column they are stored in -------------------------------------------------
KEY_LENGTH = 64  # every String(64) id column: the key inside a global id
GLOBAL_ID_LENGTH = 100  # "<TypeName>:" plus a key
NAME_LENGTH = 100  # customers.first_name / last_name
EMAIL_LENGTH = 254  # customers.email; also RFC 5321's longest path
EMAIL_LOCAL_LENGTH = 64  # RFC 5321's longest local part
PHONE_LENGTH = 32  # customers.phone
NOTES_LENGTH = 2000  # bookings.notes
CATEGORY_LENGTH = 100  # services.category
REFERENCE_LENGTH = 200  # stock_movements.reference
REASON_LENGTH = 500  # cancelBooking's reason: no column, but it travels in the audit entry and to the location
SEARCH_LENGTH = 254  # customers/inventory search: nothing searched is longer (the email column)
# Outbox messages carry "<key>:<suffix>" (e.g. ":create", ":<location id>") in String(200) columns and as
# HTTP headers: 128 leaves room for the longest suffix, a location id of 64.
IDEMPOTENCY_KEY_LENGTH = 128
CURSOR_LENGTH = 1000  # cursors this API issues are a few hundred characters at most
JSON_LENGTH = 10_000  # preferences, sharing rules, merged conflict values: serialised as JSON
JSON_DEPTH = 8

# --- numbers ------------------------------------------------------------------------------------------
QUANTITY_MAX = 1_000_000  # units in one stock movement
STOCK_LEVEL_MAX = 1_000_000_000  # a level stays well inside the Integer columns (2**31 - 1)
DISTANCE_KM_MAX = 20_050.0  # half the Earth's circumference: every place is nearer than this
MAX_AGE_SECONDS = 366 * 24 * 3600  # a freshness bound beyond a year means "the cache is fine"
HOURS_PER_WEEK_MAX = 168.0

# --- times: a fixed window, so the checks do not depend on the clock (and datetime arithmetic such as
# start + duration cannot overflow, as 9999-12-31 did) ------------------------------------------------
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive

# RFC 5322 is far wider than what mail systems accept; this is the WHATWG (HTML input type=email) pattern.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
PHONE_PATTERN = re.compile(r"\+?[0-9 ()-]*[0-9][0-9 ()-]*")
# Printable ASCII without space: a key goes into HTTP headers, where whitespace and controls are illegal.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x21-\x7e]+")
CURRENCY_PATTERN = re.compile(r"[A-Za-z]{3}")
MULTILINE_CONTROLS = frozenset("\n\r\t")


def _refuse(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, field=field)


def _bad_character(value: str, multiline: bool) -> str | None:
    """The first character no store or wire takes: controls (NUL breaks PostgreSQL, the rest break headers
    and logs), lone surrogates (not encodable as UTF-8), and line breaks in one-line values."""
    for character in value:
        category = unicodedata.category(character)
        if category == "Cs" or (category == "Cc" and not (multiline and character in MULTILINE_CONTROLS)):
            return character
    return None


def text(field: str, value: str, max_length: int, *, min_length: int = 0, multiline: bool = False) -> str:
    if len(value) > max_length:
        raise _refuse(field, f"`{field}` must be at most {max_length} characters, got {len(value)}")
    if len(value) < min_length:
        raise _refuse(field, f"`{field}` must be at least {min_length} character{'s' * (min_length != 1)}")
    bad = _bad_character(value, multiline)
    if bad is not None:
        raise _refuse(field, f"`{field}` contains a character that is not allowed ({bad!r})")
    return value


def optional_text(field: str, value: str | None, max_length: int, *, multiline: bool = False) -> str | None:
    return None if value is None else text(field, value, max_length, multiline=multiline)


def name(field: str, value: str) -> str:
    text(field, value, NAME_LENGTH)
    if not value.strip():
        raise _refuse(field, f"`{field}` cannot be blank")
    return value


def email(field: str, value: str) -> str:
    text(field, value, EMAIL_LENGTH)
    local = value.rpartition("@")[0]
    if not EMAIL_PATTERN.fullmatch(value) or len(local) > EMAIL_LOCAL_LENGTH:
        raise _refuse(field, f"`{field}` is not an email address")
    return value


def phone(field: str, value: str) -> str:
    text(field, value, PHONE_LENGTH)
    if not PHONE_PATTERN.fullmatch(value):
        raise _refuse(field, f"`{field}` may hold digits, spaces, ( ) - and a leading +")
    return value


def idempotency_key(value: str, field: str = "idempotencyKey") -> str:
    if not 1 <= len(value) <= IDEMPOTENCY_KEY_LENGTH or not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise _refuse(
            field, f"`{field}` must be 1 to {IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces"
        )
    return value


def key(field: str, value: str) -> str:
    """A network-wide key (the part of a global id after the type), as the id columns hold it."""
    return text(field, value, KEY_LENGTH, min_length=1)


def optional_key(field: str, value: str | None) -> str | None:
    return None if value is None else key(field, value)


def global_id(field: str, value: str) -> str:
    return text(field, value, GLOBAL_ID_LENGTH)


def currency(field: str, value: str) -> str:
    if not CURRENCY_PATTERN.fullmatch(value):
        raise _refuse(field, f"`{field}` must be a 3-letter ISO 4217 code, e.g. EUR")
    return value


def integer(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise _refuse(field, f"`{field}` must be between {low} and {high}, got {value}")
    return value


def number(field: str, value: float, low: float, high: float, *, low_inclusive: bool = True) -> float:
    above = value >= low if low_inclusive else value > low
    if not (math.isfinite(value) and above and value <= high):
        bracket = "[" if low_inclusive else "("
        raise _refuse(field, f"`{field}` must be in {bracket}{low:g}, {high:g}], got {value:g}")
    return value


def quantity(field: str, value: int) -> int:
    return integer(field, value, 1, QUANTITY_MAX)


def instant(field: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _refuse(field, f"`{field}` needs a timezone offset, e.g. 2026-11-21T09:00:00Z")
    if not EARLIEST <= value < LATEST:
        raise _refuse(field, f"`{field}` must be in the years {EARLIEST.year} to {LATEST.year - 1}")
    return value


def optional_instant(field: str, value: datetime | None) -> datetime | None:
    return None if value is None else instant(field, value)


def day(field: str, value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise _refuse(field, f"`{field}` must be in the years {EARLIEST.year} to {LATEST.year - 1}")
    return value


def _json_problem(value: Any, depth: int) -> str | None:
    """What makes a decoded JSON value unstorable, if anything (the same on both backends)."""
    if depth > JSON_DEPTH:
        return f"nests deeper than {JSON_DEPTH} levels"
    if isinstance(value, str):
        return None if _bad_character(value, multiline=True) is None else "contains a control character"
    if isinstance(value, float) and not math.isfinite(value):
        return "contains a number JSON cannot hold"
    if isinstance(value, dict):
        for item_key, item in value.items():
            problem = _json_problem(item_key, depth + 1) or _json_problem(item, depth + 1)
            if problem is not None:
                return problem
    if isinstance(value, list):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem is not None:
                return problem
    return None


def json_value(field: str, value: Any, max_length: int = JSON_LENGTH) -> Any:
    problem = _json_problem(value, 0)
    if problem is not None:
        raise _refuse(field, f"`{field}` {problem}")
    size = len(json.dumps(value, ensure_ascii=False, default=str))
    if size > max_length:
        raise _refuse(field, f"`{field}` must be at most {max_length} characters as JSON, got {size}")
    return value
