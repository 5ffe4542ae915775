"""Random moments between two instants, to the whole second (demo rows read better without microseconds)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def between(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """A moment in [earliest, latest]; earliest itself when the span is empty or negative."""
    span = int((latest - earliest).total_seconds())
    return earliest + timedelta(seconds=rng.randint(0, span)) if span > 0 else earliest
