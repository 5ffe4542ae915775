"""What every operation receives: the cache, settings, the caller, the loaders, the event bus and the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.loaders import Loaders
from resolvers.services import Services
from settings import Settings
from subscriptions.bus import EventBus
from sync.live.refresh import Freshness


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. Until authentication lands every caller is the embedded network admin."""

    subject: str
    roles: frozenset[str]
    location_ids: frozenset[str] = frozenset()


EMBEDDED_ADMIN = Principal(subject="embedded", roles=frozenset({"network_admin"}))


@dataclass
class Context:
    engine: AsyncEngine
    settings: Settings
    bus: EventBus
    request_id: str
    # The app's services; None only for a context built outside a served app (unit tests).
    opened_services: Services | None = None
    principal: Principal = EMBEDDED_ADMIN
    loaders: Loaders = field(init=False)
    # Where each location's data in this answer came from; the freshness extension reports it.
    freshness: list[Freshness] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine, self.settings)

    @property
    def services(self) -> Services:
        """The live parts (connectors, outbox, refresh, sync); every served app has them."""
        if self.opened_services is None:
            raise RuntimeError("this context has no services: it was built outside a served app")
        return self.opened_services
