"""What every operation receives: the cache, settings, the caller and their row scope, the loaders,
the event bus and the long-lived services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.loaders import Loaders
from resolvers.scope import RowScope
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
    # Which rows this caller may see: every domain's reads apply it (resolvers/scope.py).
    scope: RowScope = field(default_factory=RowScope.everything)
    # Where each location's data in this answer came from; the freshness extension reports it.
    freshness: list[Freshness] = field(default_factory=list)
    _loaders: Loaders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._loaders = Loaders(self.engine, self.settings, self.scope)

    @property
    def loaders(self) -> Loaders:
        return self._loaders

    @loaders.setter
    def loaders(self, loaders: Loaders) -> None:
        """Replace the request's loaders (after a write, or per subscription event); they keep this context's
        scope, even when built as `Loaders(engine, settings)`."""
        if loaders.scope != self.scope:
            loaders = Loaders(loaders.engine, loaders.settings, self.scope)
        self._loaders = loaders

    def reset_loaders(self) -> None:
        """Fresh loaders for this context: rows read from now on are read anew."""
        self._loaders = Loaders(self.engine, self.settings, self.scope)

    @property
    def services(self) -> Services:
        """The live parts (connectors, outbox, refresh, sync); every served app has them."""
        if self.opened_services is None:
            raise RuntimeError("this context has no services: it was built outside a served app")
        return self.opened_services
