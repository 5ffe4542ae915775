"""Exact money for the faces: minor units and decimal amounts through the cache's one currency table."""

from __future__ import annotations

from sources.cache.money import from_minor_units, to_minor_units

__all__ = ["from_minor_units", "to_minor_units"]
