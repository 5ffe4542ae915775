"""Building the sync engine and its scheduler from settings (called from the app's lifespan)."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from observability.metrics import Metrics
from settings import Settings
from sources.cache.money import to_minor_units
from sources.cache.revenue import CommissionCalculation, SplitRules
from sources.cache.writer import CacheWriter
from sources.connectors.base import Capability
from sources.connectors.registry import ConnectorRegistry
from subscriptions.bus import EventBus
from sync.apply.batch import RuleBook
from sync.apply.pipeline import ApplyRules
from sync.conflicts.detect import ConflictPolicy
from sync.pull.engine import SyncEngine, SyncOptions
from sync.pull.jobs import JobLease, SyncJobStore
from sync.pull.scheduler import SyncScheduler
from sync.types import Strategy


def apply_rules(settings: Settings, connectors: ConnectorRegistry) -> ApplyRules:
    def writable(location_id: str) -> bool:
        connector = connectors.get(location_id)
        return connector is not None and Capability.WRITE_CUSTOMERS in connector.capabilities

    return ApplyRules(
        policy=ConflictPolicy(
            Strategy(settings.conflict_strategy),
            {entity: Strategy(strategy) for entity, strategy in settings.conflict_strategies.items()},
        ),
        writable=writable,
        share_new_customers=settings.share_new_customers,
        consent_required_for_sharing=settings.consent_required_for_sharing,
        split=split_rules(settings),
    )


def split_rules(settings: Settings) -> SplitRules:
    """The settings' revenue rules in basis points and minor units."""
    pairs: dict[tuple[str, str], int] = {}
    services: dict[str, int] = {}
    for rule in settings.revenue_split_rules:
        share_bp = int(rule.originating_percent * 100)
        if rule.service_id is not None:
            services[rule.service_id] = share_bp
        elif rule.originating is not None and rule.service is not None:
            pairs[(rule.originating, rule.service)] = share_bp
    return SplitRules(
        default_originating_share_bp=settings.originating_share_percent * 100,
        pair_share_bp=MappingProxyType(pairs),
        service_share_bp=MappingProxyType(services),
        commission=CommissionCalculation(settings.commission_calculation),
        fixed_commission_minor=MappingProxyType(
            {currency: to_minor_units(amount, currency) for currency, amount in settings.fixed_commission.items()}
        ),
    )


def build_sync_engine(
    settings: Settings,
    writer: CacheWriter,
    connectors: ConnectorRegistry,
    bus: EventBus,
    rule_book: RuleBook,
    metrics: Metrics | None = None,
) -> SyncEngine:
    lease = JobLease(seconds=settings.sync_job_lease_seconds, renew_every=settings.sync_job_lease_renew_seconds)
    jobs = SyncJobStore(writer, bus, lease=lease)
    options = SyncOptions(batch_size=settings.sync_batch_size, priority=tuple(settings.sync_priority_order))
    return SyncEngine(writer, connectors, bus, jobs, rule_book, options, metrics=metrics)


def build_scheduler(settings: Settings, engine: SyncEngine) -> SyncScheduler | None:
    if not settings.sync_scheduler:
        return None
    return SyncScheduler(
        engine,
        default_frequency=settings.sync_frequency,
        realtime_seconds=settings.sync_realtime_seconds,
        full_every=timedelta(hours=settings.sync_full_every_hours),
    )
