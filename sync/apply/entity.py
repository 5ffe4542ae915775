"""What an entity type the gateway keeps in step with the locations provides, behind one protocol.

Each entity type is one module beside this one (`customers.py`, `bookings.py`, `resources.py`,
`stock.py`), registered in `registry.py`; the pull engine, the apply pipeline, full
reconciliation, conflict resolution and rollback find it there by the name they hold (the pulled
`EntityType`, or the `RecordType` a change-log entry or conflict names) instead of choosing code
by string. A new entity type is a new module and a row in that table.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.journal import log_change
from sources.cache.models import ChangeLogEntry, Conflict
from sources.connectors.base import Capability
from sources.connectors.records import EntityType, RecordType, RemoteRecord
from sync.apply.batch import ApplyResult, ApplyRules, Batch
from sync.apply.state import Image, json_value, row_value, same
from sync.errors import InvalidResolution
from sync.outbox.queue import Queued
from sync.types import ConflictChoice

R = TypeVar("R", bound=RemoteRecord, contravariant=True)


class SyncedEntity(Protocol[R]):
    """One entity type: how it is pulled, applied, reconciled, resolved, rolled back and propagated."""

    @property
    def pulled_as(self) -> EntityType:
        """The delta feed a location is asked for (its cursor and sync job steps are named so)."""
        ...

    @property
    def record_types(self) -> tuple[RecordType, ...]:
        """The record types it writes to the change log; the first one names its conflicts and sync states."""
        ...

    @property
    def reads(self) -> Capability:
        """What a location's connector must be able to do for it to be pulled."""
        ...

    @property
    def remote_type(self) -> type[RemoteRecord]:
        """The connector record a pull brings."""
        ...

    def key_of(self, record: R) -> str:
        """The pulled record's id at its location (what a full reconciliation compares)."""
        ...

    async def apply(self, session: AsyncSession, batch: Batch, records: Sequence[R], result: ApplyResult) -> None:
        """Apply what one location reports, detecting concurrent changes where both sides write."""
        ...

    async def reconcile(
        self, session: AsyncSession, location_id: str, seen: Set[str], job_id: str, result: ApplyResult
    ) -> None:
        """After a full pull: remove (or retire) what the location no longer lists."""
        ...

    async def resolve(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        conflict: Conflict,
        choice: ConflictChoice | None,
        merged: Image | None,
    ) -> ApplyResult:
        """A person's decision on one of its conflicts; sets `conflict.resolved_data`."""
        ...

    async def roll_back(self, undo: Undo, entry: ChangeLogEntry) -> bool:
        """Put back one change-log entry of a sync job; False when the record changed since (skipped)."""
        ...

    async def propagate(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        entity_id: str,
        *,
        why: str,
        held: Image | None = None,
        exclude: Collection[str] = (),
    ) -> list[Queued]:
        """Send the network's version of a record, through the outbox, to the locations holding it
        (other than `exclude`); `held` is what its owner holds, when the caller knows."""
        ...


@dataclass
class Undo:
    """A rollback in progress: where entity types put back their entries and queue compensations."""

    session: AsyncSession
    rules: ApplyRules
    job_id: str
    result: ApplyResult

    async def log(self, entry: ChangeLogEntry, version: int = 1) -> None:
        await log_change(
            self.session,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            location_id=None,
            operation="rollback",
            before=entry.after,
            after=entry.before,
            version=version,
        )


class HeldByTheOwnerOnly:
    """For entity types the network never sends back as records (resources, stock): nothing to propagate."""

    async def propagate(
        self,
        session: AsyncSession,
        rules: ApplyRules,
        entity_id: str,
        *,
        why: str,
        held: Image | None = None,
        exclude: Collection[str] = (),
    ) -> list[Queued]:
        return []


def undoable_update(row: Any, entry: ChangeLogEntry) -> bool:
    """A rollback may put the entry's before-image back: it was an update and nobody changed the row since."""
    return row is not None and entry.operation == "update" and still_as_written(row, entry.after)


def still_as_written(row: Any, image: Image | None) -> bool:
    """The record still holds what the entry wrote (nobody changed it since)."""
    return all(
        same(json_value(getattr(row, name)), value) for name, value in (image or {}).items() if hasattr(row, name)
    )


def restore(row: Any, image: Image | None) -> None:
    for name, value in (image or {}).items():
        if hasattr(row, name):
            setattr(row, name, row_value(name, value))


def chosen_fields(conflict: Conflict, choice: ConflictChoice | None, merged: Image | None) -> Image:
    """The values a resolution keeps: one side's change as recorded, or the merged data given."""
    if (choice is None) == (merged is None):
        raise InvalidResolution("give either a side to keep or the merged data, not both")
    if merged is not None:
        return dict(merged)
    data = conflict.source_data if choice is ConflictChoice.LOCATION else conflict.target_data
    return dict((data or {}).get("fields") or {})


def check_fields(fields: Image, allowed: tuple[str, ...], entity: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InvalidResolution(f"a {entity} has no field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    if not fields:
        raise InvalidResolution("the resolution sets no field")
