"""The OneBooking central API (specs/onebooking-central.md): the push endpoints source websites call."""

from __future__ import annotations

from shims.common.endpoint import Endpoint
from shims.onebooking.push import push_endpoint


def endpoints() -> list[Endpoint]:
    return [push_endpoint()]
