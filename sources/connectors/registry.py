"""The live connector of every location, built from the cache's location rows and the credential store's
credentials at start-up (and when a location registers at run time). Every connector it holds is measured
(sources.connectors.measured): the one place every call to a location is counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from observability.metrics import Metrics
from sources.connectors.base import Connector, ConnectorConfig
from sources.connectors.bookingx import BookingXConnector
from sources.connectors.measured import MeasuredConnector
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
    def __init__(
        self,
        metrics: Metrics | None = None,
        transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transport_factory`: a transport for each connector built without one of its own (the traced one when
        the app exports traces)."""
        self._connectors: dict[str, Connector] = {}
        # Without the app's metrics (a test's registry), calls are recorded in a registry nobody scrapes.
        self._metrics = metrics or Metrics()
        self._transport_factory = transport_factory

    def add(self, connector: Connector) -> None:
        if not isinstance(connector, MeasuredConnector):
            connector = MeasuredConnector(connector, self._metrics)
        self._connectors[connector.location_id] = connector

    def build(self, config: ConnectorConfig, transport: httpx.AsyncBaseTransport | None = None) -> Connector:
        if transport is None and self._transport_factory is not None:
            transport = self._transport_factory()
        self.add(CONNECTORS[config.kind](config, transport=transport))
        return self._connectors[config.location_id]

    def get(self, location_id: str) -> Connector | None:
        return self._connectors.get(location_id)

    def all(self) -> list[Connector]:
        return list(self._connectors.values())

    def breaker_states(self) -> dict[str, str]:
        """Each location's circuit breaker now (closed, open, half_open), where its connector says."""
        states: dict[str, str] = {}
        for location_id, connector in self._connectors.items():
            state = getattr(connector, "breaker_state", None)
            if isinstance(state, str):
                states[location_id] = state
        return states

    async def aclose(self) -> None:
        for connector in self._connectors.values():
            await connector.aclose()
        self._connectors.clear()
