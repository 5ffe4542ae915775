"""What every operation receives: the cache, settings, the caller and their row scope, the loaders,
the event bus and the long-lived services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.principal import Principal, Role
from observability.requests import annotate
from resolvers.loaders import Loaders
from resolvers.scope import RowScope
from resolvers.services import Services
from settings import Settings
from sources.cache.single_reads import SqliteSingleReads
from subscriptions.bus import EventBus
from sync.live.refresh import Freshness


@dataclass(frozen=True, slots=True)
class FreshnessEntry:
    """One location's freshness in an answer, under the name of the data the root field read (`bookings`,
    `customers`, `stock`): one refresh brings a location's bookings and customers, each field names its own."""

    data: str
    report: Freshness


# The caller when none is given: only contexts built outside a served request (unit tests, the CLI) use it.
EMBEDDED_ADMIN = Principal(subject="embedded", role=Role.NETWORK_ADMIN)


# The default scope of a Context: replaced in __post_init__ by its principal's (compared by identity).
PRINCIPALS_OWN = RowScope.everything()


def scope_of(principal: Principal) -> RowScope:
    """The rows a principal may see (resolvers/scope.py): network-wide roles every row; a customer their own;
    shared staff their own bookings at their locations; the public the catalogue; anyone else (a location
    manager, franchisee or location) their locations' rows."""
    if principal.sees_every_location:
        return RowScope.everything()
    if principal.role is Role.CUSTOMER and principal.customer_id is not None:
        return RowScope.of_customer(principal.customer_id)
    if principal.role is Role.SHARED_STAFF and principal.resource_id is not None:
        return RowScope.of_staff(principal.location_ids, principal.resource_id)
    if principal.is_anonymous:
        return RowScope.public()
    return RowScope.of_locations(principal.location_ids)


def website_staff_scope(principal: Principal, website_ids: list[str]) -> RowScope:
    """A shared staff member's rows at the source websites they work for (OneBooking's dashboard staff): every
    booking there, not only their own, since a website's bookings name no resource to be anyone's by. Read-only
    is the permissions' business (shared staff cannot BOOK); contact data stays hidden by its permission."""
    return RowScope.of_locations(principal.location_ids & set(website_ids))


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
    freshness: list[FreshnessEntry] = field(default_factory=list)
    # A WebSocket connection's connection_init payload (strawberry sets it); its credential names the principal.
    connection_params: dict[str, Any] | None = None
    # Set by the HTTP view when settings allow: queries the compiled read path covers are answered by it,
    # on `single_reads` when the app has such an engine (SQLite), else on `engine`.
    compiled_reads: bool = False
    single_reads: SqliteSingleReads | None = None
    # The request's rate-limit token is already taken (by the compiled lane, schema/compiled/lane.py).
    rate_limit_spent: bool = False
    _loaders: Loaders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.scope is PRINCIPALS_OWN:
            self.scope = scope_of(self.principal)
        annotate(subject=self.principal.subject)  # the request's log lines name who asked
        self._loaders = Loaders(self.engine, self.settings, self.scope)

    @property
    def loaders(self) -> Loaders:
        return self._loaders

    def act_as(self, principal: Principal) -> None:
        """The caller is this principal from now on (a WebSocket connection authenticated by connection_init)."""
        self.principal = principal
        self.scope = scope_of(principal)
        annotate(subject=principal.subject)
        self.reset_loaders()

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
