"""What every operation receives: the cache, settings, the caller, the loaders, the event bus and the live parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.loaders import Loaders
from resolvers.services import Runtime
from settings import Settings
from subscriptions.bus import EventBus
from sync.live.refresh import Freshness


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. Until authentication lands every caller is the embedded network admin."""

    subject: str
    roles: frozenset[str]
    location_ids: frozenset[str] = frozenset()


NETWORK_ADMIN = "network_admin"
EMBEDDED_ADMIN = Principal(subject="embedded", roles=frozenset({NETWORK_ADMIN}))


@dataclass
class Context:
    engine: AsyncEngine
    settings: Settings
    bus: EventBus
    request_id: str
    runtime: Runtime | None = None
    principal: Principal = EMBEDDED_ADMIN
    loaders: Loaders = field(init=False)
    # Where each location's data in this answer came from; the freshness extension reports it.
    freshness: list[Freshness] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine, self.settings)

    @property
    def visible_location_ids(self) -> frozenset[str] | None:
        """The locations whose data and events the caller may see; None for every location."""
        return None if NETWORK_ADMIN in self.principal.roles else self.principal.location_ids

    @property
    def live(self) -> Runtime:
        """The live parts (connectors, outbox, refresh); every served app has them."""
        if self.runtime is None:
            raise RuntimeError("this context has no live runtime")
        return self.runtime
