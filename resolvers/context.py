"""What every operation receives: the cache, settings, the caller and their row scope, the loaders,
the event bus and the long-lived services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.principal import Principal, Role
from resolvers.loaders import Loaders
from resolvers.scope import RowScope
from resolvers.services import Services
from settings import Settings
from subscriptions.bus import EventBus
from sync.live.refresh import Freshness

# The caller when none is given: only contexts built outside a served request (unit tests, the CLI) use it.
EMBEDDED_ADMIN = Principal(subject="embedded", role=Role.NETWORK_ADMIN)


# The default scope of a Context: replaced in __post_init__ by its principal's (compared by identity).
PRINCIPALS_OWN = RowScope.everything()


def scope_of(principal: Principal) -> RowScope:
    """The rows a principal may see, until authentication brings real roles: a network admin every row,
    anyone else their own locations' rows."""
    if principal.sees_every_location:
        return RowScope.everything()
    return RowScope.of_locations(principal.location_ids)


@dataclass
class Context:
    engine: AsyncEngine
    settings: Settings
    bus: EventBus
    request_id: str
    # The app's services; None only for a context built outside a served app (unit tests).
    opened_services: Services | None = None
    principal: Principal = EMBEDDED_ADMIN
    # Which rows this caller may see: every domain's reads apply it (resolvers/scope.py). Left out, the
    # principal's own (scope_of); a narrower one may be given.
    scope: RowScope = field(default=PRINCIPALS_OWN)
    # Where each location's data in this answer came from; the freshness extension reports it.
    freshness: list[Freshness] = field(default_factory=list)
    _loaders: Loaders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.scope is PRINCIPALS_OWN:
            self.scope = scope_of(self.principal)
        self._loaders = Loaders(self.engine, self.settings, self.scope)

    @property
    def visible_location_ids(self) -> frozenset[str] | None:
        """The locations whose events the caller may see; None for every location (a customer sees none yet)."""
        return frozenset() if self.scope.customer_id is not None else self.scope.location_ids

    @property
    def loaders(self) -> Loaders:
        return self._loaders

    def reset_loaders(self) -> None:
        """Start the request's loaders (its row caches) afresh, with its scope: the cache changed behind them (a
        write, a live refresh, the next subscription event), or the request is over and their rows can go now."""
        self._loaders = Loaders(self.engine, self.settings, self.scope)

    @property
    def services(self) -> Services:
        """The live parts (connectors, outbox, refresh, sync); every served app has them."""
        if self.opened_services is None:
            raise RuntimeError("this context has no services: it was built outside a served app")
        return self.opened_services
