"""Choosing and opening the event bus from the settings (in the app's lifespan, never at import)."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from observability.metrics import Metrics
from settings import Settings
from subscriptions.bus import EventBus, InMemoryEventBus
from subscriptions.postgres import PostgresEventBus, asyncpg_dsn


def bus_kind(settings: Settings) -> str:
    """ "memory" or "postgres": `auto` follows the cache database, so replicas on one PostgreSQL share events."""
    on_postgres = make_url(settings.database_url).get_backend_name() == "postgresql"
    if settings.event_bus == "postgres" and not on_postgres:
        raise ValueError("event_bus=postgres needs a PostgreSQL database_url")
    if settings.event_bus == "auto":
        return "postgres" if on_postgres else "memory"
    return settings.event_bus


async def open_event_bus(settings: Settings, metrics: Metrics | None = None) -> EventBus:
    if bus_kind(settings) == "memory":
        return InMemoryEventBus(settings.subscriber_queue_size, metrics)
    bus = PostgresEventBus(
        asyncpg_dsn(settings.database_url),
        queue_size=settings.subscriber_queue_size,
        channel=settings.event_bus_channel,
        metrics=metrics,
    )
    await bus.start()
    return bus
