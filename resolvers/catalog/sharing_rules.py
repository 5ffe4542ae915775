"""The terms a location lends a resource under, and the one function that says whether a booking keeps to them.

The terms are a JSON object kept on the share (resource_shares.rules) and sent to the owner as written:

    weekdays            ISO weekdays the borrower may book it on (1 = Monday … 7 = Sunday), distinct
    from, until         the window of the day a booking must start and end in, "HH:MM" (from < until)
    max_hours_per_week  hours a week the borrower may book it for, its bookings in the ISO week counted, 0..168
    lead_time_hours     how many hours ahead the borrower must book, 0..2160 (90 days)
    priority            lower goes first when several borrowers want it, 1..100 (informative)
    notes               free text for people (informative)

Weekdays, the hours window and the ISO week are read on the OWNER's clock (its timezone): the terms say
when the owner can spare its staff, room or equipment, so a borrower in another timezone books the same
hours of the owner's day. Only bookings at the borrowing location are bound by them (resolvers/catalog/
loans.py finds which bookings those are); the owner's own bookings never are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from resolvers import bounds
from resolvers.errors import InvalidInputError

logger = logging.getLogger(__name__)

WEEKDAYS = "weekdays"
FROM = "from"
UNTIL = "until"
MAX_HOURS_PER_WEEK = "max_hours_per_week"
LEAD_TIME_HOURS = "lead_time_hours"
PRIORITY = "priority"
NOTES = "notes"
RULE_NAMES = (WEEKDAYS, FROM, UNTIL, MAX_HOURS_PER_WEEK, LEAD_TIME_HOURS, PRIORITY, NOTES)

LEAD_TIME_HOURS_MAX = 90 * 24
PRIORITY_MAX = 100
NOTES_LENGTH = 500
HOUR_MINUTE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
DAY_NAMES = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SharingRule(StrEnum):
    """The rule a booking at the borrowing location breaks; its value names it in SLOT_UNAVAILABLE."""

    WEEKDAYS = "weekdays"
    HOURS = "hours"
    MAX_HOURS_PER_WEEK = "max_hours_per_week"
    LEAD_TIME = "lead_time"


@dataclass(frozen=True, slots=True)
class SharingTerms:
    """The binding part of the rules, parsed; None: no such rule."""

    weekdays: frozenset[int] | None = None
    opens: time | None = None
    closes: time | None = None
    max_hours_per_week: int | None = None
    lead_time: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: SharingRule
    message: str


def _integer(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"must be a whole number from {low} to {high}")
    return value


def _weekdays(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of ISO weekdays (1 = Monday … 7 = Sunday)")
    days = [_integer(day, 1, 7) for day in value]
    if len(set(days)) != len(days):
        raise ValueError("must name each weekday once")
    return frozenset(days)


def _time_of_day(value: Any) -> time:
    if not isinstance(value, str) or HOUR_MINUTE.fullmatch(value) is None:
        raise ValueError('must be a time of day "HH:MM" from 00:00 to 23:59')
    return time.fromisoformat(value)


def _notes(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    try:
        return bounds.text("notes", value, NOTES_LENGTH, multiline=True)
    except InvalidInputError as error:
        raise ValueError(error.message.removeprefix("`notes` ")) from None


# key → how its value is read, and where it goes in SharingTerms (None: informative, not enforced).
_READERS: dict[str, tuple[Callable[[Any], Any], str | None]] = {
    WEEKDAYS: (_weekdays, "weekdays"),
    FROM: (_time_of_day, "opens"),
    UNTIL: (_time_of_day, "closes"),
    MAX_HOURS_PER_WEEK: (lambda value: _integer(value, 0, int(bounds.HOURS_PER_WEEK_MAX)), "max_hours_per_week"),
    LEAD_TIME_HOURS: (lambda value: timedelta(hours=_integer(value, 0, LEAD_TIME_HOURS_MAX)), "lead_time"),
    PRIORITY: (lambda value: _integer(value, 1, PRIORITY_MAX), None),
    NOTES: (_notes, None),
}


def _read(rules: Mapping[str, Any], on_error: Callable[[str, str], None]) -> SharingTerms:
    terms = SharingTerms()
    for key, value in rules.items():
        reader, attribute = _READERS[key]
        try:
            parsed = reader(value)
        except ValueError as problem:
            on_error(key, f"`{key}` {problem}")
            continue
        if attribute is not None:
            terms = replace(terms, **{attribute: parsed})
    if terms.opens is not None and terms.closes is not None and terms.opens >= terms.closes:
        on_error(UNTIL, f"`until` ({terms.closes:%H:%M}) must be after `from` ({terms.opens:%H:%M})")
        terms = replace(terms, opens=None, closes=None)
    return terms


def parse_rules(rules: Mapping[str, Any]) -> SharingTerms:
    """The terms as a caller writes them: every key known and every value in range, or INVALID_INPUT naming it."""
    unknown = sorted(set(rules) - set(RULE_NAMES))
    if unknown:
        hint = " (the weekday rule is called `weekdays`)" if "days" in unknown else ""
        raise InvalidInputError(
            f"unknown sharing rules: {', '.join(unknown)}{hint}; known: {', '.join(RULE_NAMES)}",
            field=f"rules.{unknown[0]}",
        )

    def refuse(key: str, message: str) -> None:
        raise InvalidInputError(message, field=f"rules.{key}")

    return _read(rules, refuse)


def stored_terms(rules: Mapping[str, Any]) -> SharingTerms:
    """The terms as the cache holds them. Rules stored before they were checked (or set by a conflict
    resolution) may not parse: such a rule binds nothing, and the log says so."""

    def skip(key: str, message: str) -> None:
        logger.warning("sharing rule %s ignored: %s", key, message)

    return _read({key: value for key, value in rules.items() if key in _READERS}, skip)


def _local_days(start: datetime, end: datetime) -> Iterator[date]:
    day, last = start.date(), (end - timedelta(microseconds=1)).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _weeks(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Each ISO week (Monday 00:00 to Monday 00:00 on the owner's clock) that [start, end) touches."""
    monday = start.astimezone(zone).date()
    monday -= timedelta(days=monday.isoweekday() - 1)
    while (week_start := datetime.combine(monday, time(0), tzinfo=zone)) < end:
        monday += timedelta(days=7)
        yield week_start, datetime.combine(monday, time(0), tzinfo=zone)


def _overlap(start: datetime, end: datetime, window_start: datetime, window_end: datetime) -> timedelta:
    return max(timedelta(0), min(end, window_end) - max(start, window_start))


def _hours(span: timedelta) -> str:
    return f"{span / timedelta(hours=1):g}"


def refusal(
    terms: SharingTerms,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    now: datetime,
    booked: Sequence[tuple[datetime, datetime]] = (),
) -> Refusal | None:
    """Which rule a booking [start, end) at the borrowing location breaks, if any; `booked` holds the
    borrower's other active bookings of the resource around it (for the weekly maximum)."""
    if terms.lead_time is not None and start - now < terms.lead_time:
        return Refusal(SharingRule.LEAD_TIME, f"it must be booked at least {_hours(terms.lead_time)} hours ahead")
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if terms.weekdays is not None:
        for day in _local_days(local_start, local_end):
            if day.isoweekday() not in terms.weekdays:
                allowed = ", ".join(DAY_NAMES[number] for number in sorted(terms.weekdays))
                return Refusal(
                    SharingRule.WEEKDAYS,
                    f"it is lent only on {allowed} ({zone.key}), not on {DAY_NAMES[day.isoweekday()]}",
                )
    if terms.opens is not None or terms.closes is not None:
        opens, closes = terms.opens or time(0), terms.closes or time.max
        if not (local_start.date() == local_end.date() and opens <= local_start.time() and local_end.time() <= closes):
            until = "midnight" if terms.closes is None else f"{closes:%H:%M}"
            return Refusal(SharingRule.HOURS, f"it is lent only from {opens:%H:%M} until {until} ({zone.key})")
    if terms.max_hours_per_week is not None:
        cap = timedelta(hours=terms.max_hours_per_week)
        for week_start, week_end in _weeks(zone, start, end):
            used = sum((_overlap(*booking, week_start, week_end) for booking in booked), timedelta(0))
            if used + _overlap(start, end, week_start, week_end) > cap:
                return Refusal(
                    SharingRule.MAX_HOURS_PER_WEEK,
                    f"it is lent for at most {terms.max_hours_per_week} hours a week and {_hours(used)} are booked "
                    f"in the week of {week_start.date().isoformat()} already",
                )
    return None
