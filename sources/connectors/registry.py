"""The live connector of every location, built from the cache's location rows and the credential store's
credentials at start-up (and when a location registers at run time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from sources.connectors.base import Connector, ConnectorConfig
from sources.connectors.bookingx import BookingXConnector
from sources.connectors.onebooking import OneBookingConnector
from sources.connectors.platform import PlatformConnector
from sources.connectors.pms import PmsConnector

CONNECTORS: dict[str, Callable[..., Connector]] = {
    "bookingx": BookingXConnector,
    "onebooking": OneBookingConnector,
    "platform": PlatformConnector,
    "pms": PmsConnector,
}


def config_for(location: Any, credentials: dict[str, str], **overrides: Any) -> ConnectorConfig:
    extra = {"timezone": location.timezone, "hotel_id": location.id, "currency": location.currency}
    return ConnectorConfig(
        location_id=location.id,
        kind=location.kind,
        base_url=location.base_url,
        credentials=credentials,
        extra=extra,
        **overrides,
    )


class ConnectorRegistry:
    def __init__(self, transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None) -> None:
        """`transport_factory`: a transport for each connector built without one of its own (the traced one when
        the app exports traces)."""
        self._connectors: dict[str, Connector] = {}
        self._transport_factory = transport_factory

    def add(self, connector: Connector) -> None:
        self._connectors[connector.location_id] = connector

    def build(self, config: ConnectorConfig, transport: httpx.AsyncBaseTransport | None = None) -> Connector:
        if transport is None and self._transport_factory is not None:
            transport = self._transport_factory()
        connector = CONNECTORS[config.kind](config, transport=transport)
        self.add(connector)
        return connector

    def get(self, location_id: str) -> Connector | None:
        return self._connectors.get(location_id)

    def all(self) -> list[Connector]:
        return list(self._connectors.values())

    async def aclose(self) -> None:
        for connector in self._connectors.values():
            await connector.aclose()
        self._connectors.clear()
