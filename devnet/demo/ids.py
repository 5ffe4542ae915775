"""Ids for the demo: network-wide ids and the id style each kind of location uses locally.

All ids come from the load's seeded RNG, so a given seed always yields the same ids.
"""

from __future__ import annotations

import random
from typing import Any

Row = dict[str, Any]  # one row for a Core bulk insert


class GlobalIds:
    """Network-wide ids like ``res_3fa29c01b7e4``; never repeats within one load."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()

    def hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(4 * digits):0{digits}x}"

    def new(self, prefix: str, digits: int = 12) -> str:
        while True:
            candidate = f"{prefix}_{self.hex(digits)}"
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate


class LocalIds:
    """The ids one location gives its own records.

    BookingX sites use auto-increment numbers with a prefix, OneBooking sites
    short hex, platforms opaque tokens: the gateway must cope with all of them.
    """

    def __init__(self, kind: str, rng: random.Random, global_ids: GlobalIds) -> None:
        self._kind = kind
        self._global_ids = global_ids
        self._counters = {
            # Start somewhere other than 1: these sites had data before joining the network.
            "customer": rng.randrange(1000, 6000),
            "booking": rng.randrange(10_000, 60_000),
            "service": 10,
            "staff": 100,
            "room": 200,
            "equipment": 300,
        }
        self._rng = rng

    def _next(self, counter: str, max_gap: int = 1) -> int:
        self._counters[counter] += self._rng.randint(1, max_gap)
        return self._counters[counter]

    def _opaque(self, prefix: str, digits: int) -> str:
        return self._global_ids.new(prefix, digits)

    def customer(self) -> str:
        if self._kind == "onebooking":
            return self._opaque("ob", 6).replace("_", "-")
        if self._kind == "platform":
            return self._opaque("bksy", 10)
        return f"C-{self._next('customer', max_gap=4)}"

    def resource(self, resource_kind: str) -> str:
        if self._kind == "onebooking":
            return f"ob-{resource_kind}-{self._next(resource_kind)}"
        if self._kind == "platform":
            return self._opaque(f"bksy_{resource_kind[:3]}", 8)
        return f"{resource_kind[0].upper()}-{self._next(resource_kind)}"

    def service(self) -> str:
        if self._kind == "onebooking":
            return f"ob-svc-{self._next('service')}"
        if self._kind == "platform":
            return self._opaque("bksy_svc", 8)
        return f"SV-{self._next('service')}"

    def booking(self) -> str:
        if self._kind == "onebooking":
            return f"OB-{self._next('booking')}"
        if self._kind == "platform":
            return self._opaque("bksy_bk", 10)
        return f"BK-{self._next('booking', max_gap=3)}"
