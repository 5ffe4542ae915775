"""The gateway's clock, for answers that say when they were made or how old their data is."""

from __future__ import annotations

from sources.cache.types import utc_now

__all__ = ["utc_now"]
