"""What every operation receives: the cache, settings, the caller, the loaders and the event bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.loaders import Loaders
from settings import Settings
from subscriptions.bus import EventBus


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
    principal: Principal = EMBEDDED_ADMIN
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine, self.settings)
