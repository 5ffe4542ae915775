"""The long-lived parts every request uses, opened once in the app's lifespan: a request reaches them as
`context.services` (the cache writer, connectors, outbox delivery, live refresh, the sync engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.secrets import SecretBox
from observability.metrics import Metrics
from resolvers.authentication import Authenticator
from resolvers.rate_limit import TokenBuckets
from sources.cache.writer import CacheWriter
from sources.connectors.registry import ConnectorRegistry
from sources.network.categories import CategoryMap
from sources.network.credentials import CredentialStore
from subscriptions.bus import EventBus
from sync.live.refresh import Refresher
from sync.outbox.delivery import Deliverer, OutboxWorker
from sync.pull.engine import SyncEngine

if TYPE_CHECKING:  # the cache's store builds visibilities from the context module, which imports this one
    from resolvers.response_cache import ResponseCache


@dataclass
class Services:
    engine: AsyncEngine
    writer: CacheWriter
    bus: EventBus
    connectors: ConnectorRegistry
    deliverer: Deliverer
    refresher: Refresher
    worker: OutboxWorker
    sync: SyncEngine
    # Keyed hashes and encryption for credentials at rest, under the master key.
    secrets: SecretBox
    # Every location's credentials: inbound keys as hashes, outbound secrets encrypted (sources/network).
    credentials: CredentialStore
    # Bearer tokens to principals, and the tokens the gateway issues.
    authenticator: Authenticator
    # Requests per principal; None: nothing is limited (a Services built outside the app, e.g. by a test).
    rate_limits: TokenBuckets | None = None
    # What the gateway counts and times (GET /metrics); a Services built outside the app records privately.
    metrics: Metrics = field(default_factory=Metrics)
    # The network's category vocabulary and each location's names mapped into it (settings, network file).
    categories: CategoryMap = field(default_factory=CategoryMap)
    # Answers to repeated queries (resolvers/response_cache.py); None: switched off, or a Services built outside
    # the app.
    response_cache: ResponseCache | None = None
