"""A batch of one location's records being applied: its rules, its result, the job it belongs to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import SyncState
from sources.cache.revenue import SplitRules
from sync.apply.state import agree, compare
from sync.conflicts.detect import ConflictPolicy, Events, Side, Verdict, decide_conflict
from sync.conflicts.propagate import Writable
from sync.outbox.queue import Queued


def derived_id(prefix: str, location_id: str, local_id: str) -> str:
    digest = hashlib.sha256(f"{location_id}\x00{local_id}".encode()).hexdigest()[:12]
    return f"{prefix}_{digest}"


@dataclass(frozen=True, slots=True)
class ApplyRules:
    """How pulled changes are applied: the conflict strategies, and where changes are passed on."""

    policy: ConflictPolicy = field(default_factory=ConflictPolicy)
    # Where customer changes may be sent on; None: apply to the cache only (nothing is propagated).
    writable: Writable | None = None
    # Customers new at one location are sent to every other location (spec: enable_unified_customers).
    share_new_customers: bool = True
    # A customer with no data-sharing consent record at all is shared only if this is off (see consents.may_share).
    consent_required_for_sharing: bool = False
    # How a booking's price is split between its locations, and the commission on each share.
    split: SplitRules = field(default_factory=SplitRules)


class RuleBook:
    """The network's one set of apply rules. The pull engine, the live refresh and inbound pushes all read the
    rules here when they apply a batch, so a change of rules (today only by tests) reaches every path at once
    instead of the copy one of them happened to hold."""

    def __init__(self, rules: ApplyRules) -> None:
        self.current = rules


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    conflicts: int = 0
    booking_ids: dict[str, str] = field(default_factory=dict)  # local booking id -> network id
    customer_ids: dict[str, str] = field(default_factory=dict)  # local customer id -> network id
    events: Events = field(default_factory=list)  # to publish once the transaction committed
    queued: list[Queued] = field(default_factory=list)  # propagation written to the outbox
    # A webhook older than one already applied for its entity: received, recorded, nothing of it applied.
    stale: bool = False

    @property
    def applied(self) -> int:
        return self.created + self.updated + self.deleted

    def add(self, other: ApplyResult) -> None:
        for name in ("created", "updated", "unchanged", "deleted", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.booking_ids.update(other.booking_ids)
        self.customer_ids.update(other.customer_ids)
        self.events.extend(other.events)
        self.queued.extend(other.queued)


@dataclass(frozen=True, slots=True)
class Batch:
    """Where the records come from and what they are part of."""

    location_id: str
    rules: ApplyRules
    job_id: str | None = None
    lock_rows: bool = False


async def judge_change(
    session: AsyncSession,
    batch: Batch,
    *,
    entity_type: str,
    entity_id: str,
    state: SyncState | None,
    network: Side,
    location: Side,
    result: ApplyResult,
) -> Verdict | None:
    """What a pulled record does to its cache record; None when the location has not changed it.

    A manual conflict is recorded here and comes back `pending`: the location's version is
    remembered (so the clash is raised once) and nothing is applied.
    """
    # A source without version tokens (0: pushes from websites) is compared by content instead.
    if state is not None and location.version > 0 and state.remote_version == location.version:
        result.unchanged += 1
        return None
    base = state.base if state is not None else network.image  # first sight: the two agreed until now
    verdict = await decide_conflict(
        session,
        policy=batch.rules.policy,
        entity_type=entity_type,
        entity_id=entity_id,
        location_id=batch.location_id,
        comparison=compare(base, network.image, location.image),
        base=base,
        location=location,
        network=network,
        job_id=batch.job_id,
        events=result.events,
    )
    if verdict.conflict_id is not None:
        result.conflicts += 1
    if verdict.pending:
        await agree(session, entity_type, entity_id, batch.location_id, location.version, base)
    return verdict
