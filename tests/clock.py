"""The test session's clock: every test runs at one chosen instant, never at whatever hour CI starts.

The suite travels (time-machine, ticking) to ``GATEWAY_TEST_NOW`` — an ISO 8601 instant with an offset
— or to ``DEFAULT_TEST_NOW``. The demo network is anchored to that instant, so its bookings, conflicts
and opening hours fall the same way on every run. ``scripts/clock_matrix.sh`` runs the clock-sensitive
modules at other instants (hours of a day, across midnight and both DST changes) to show that the
suite does not depend on which one. Gateway processes that tests start themselves run through
``tests/clocked.py`` and keep the same clock: they get the offset between travelled and real time.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import time_machine

TEST_NOW_VARIABLE = "GATEWAY_TEST_NOW"
OFFSET_VARIABLE = "GATEWAY_TEST_CLOCK_OFFSET_SECONDS"
# A Tuesday morning in summer time, away from midnight and from any DST change.
DEFAULT_TEST_NOW = "2026-06-16T09:40:00+00:00"


def session_instant() -> datetime:
    value = os.environ.get(TEST_NOW_VARIABLE) or DEFAULT_TEST_NOW
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{TEST_NOW_VARIABLE} must carry an offset, e.g. 2026-06-16T09:40:00+00:00")
    return instant


def travel_to_test_instant() -> time_machine.travel:
    """Start the ticking clock at the session's instant; child processes learn the offset from the environment."""
    instant = session_instant()
    os.environ[OFFSET_VARIABLE] = repr(instant.timestamp() - time.time())
    traveller = time_machine.travel(instant, tick=True)
    traveller.start()
    return traveller


def travel_by_inherited_offset() -> time_machine.travel | None:
    """In a child process: move to the parent session's clock, if it set one."""
    offset = os.environ.get(OFFSET_VARIABLE)
    if offset is None:
        return None
    traveller = time_machine.travel(time.time() + float(offset), tick=True)
    traveller.start()
    return traveller


def open_tuesday(days_ahead: int = 3) -> tuple[datetime, datetime]:
    """A whole Tuesday (UTC) at least `days_ahead` days after the session's start, when every demo location is
    open (no DST change falls on a Tuesday). Anchored to the session's instant, not to `now`: a test that asks
    twice gets the same day even if midnight passed in between."""
    day = session_instant().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day += timedelta(days=days_ahead)
    day += timedelta(days=(1 - day.weekday()) % 7)
    return day, day + timedelta(days=1)
