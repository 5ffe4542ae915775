"""Applying the network file to the cache, declaratively, in one transaction.

Locations in the file and not in the cache are added; those in both are updated to what the file says
(and brought back if they had been retired); those in the cache and not in the file are retired: their rows
and everything that points at them stay (bookings, customers' mappings, revenue), but the gateway builds no
connector for them, so heartbeat, sync and live refresh leave them alone, and `locations` no longer lists
them. Credentials read from the environment or files become the current generation in the credential store
when they differ from it (a rotation: the previous generation keeps working for the grace period).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from sources.cache.models import Location
from sources.cache.types import utc_now
from sources.network.credentials import CredentialStore
from sources.network.file import NetworkFile, NetworkFileError


@dataclass(frozen=True)
class AppliedNetwork:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{name} {', '.join(ids)}" for name, ids in vars(self).items() if ids]
        return "; ".join(parts) or "no changes"


async def apply_network(store: CredentialStore, network: NetworkFile, *, now: datetime | None = None) -> AppliedNetwork:
    """Make the cache's locations what the file says; NetworkFileError (nothing written) if it cannot."""
    now = now or utc_now()
    applied = AppliedNetwork()
    async with store.writer.transaction() as session:
        existing = {row.id: row for row in (await session.execute(select(Location))).scalars()}
        for location in network.locations:
            values = location.fields.row_values()
            row = existing.get(location.id)
            if row is None:
                session.add(Location(**values, created_at=now, updated_at=now))
                applied.added.append(location.id)
            else:
                if row.kind != location.fields.kind:
                    # Its cached records carry the old system's local ids: they would be read as the new one's.
                    raise NetworkFileError(
                        f'{network.path}: location "{location.id}": kind: cannot change from {row.kind} to '
                        f"{location.fields.kind}; give the new system a new id"
                    )
                changed = {name: value for name, value in values.items() if getattr(row, name) != value}
                if changed or row.retired_at is not None:
                    for name, value in changed.items():
                        setattr(row, name, value)
                    row.retired_at = None
                    row.updated_at = now
                    applied.updated.append(location.id)
            await session.flush()
            rotated = await store.ensure(
                session,
                location.id,
                credentials=location.credentials,
                inbound_api_key=location.inbound_api_key,
                now=now,
            )
            if rotated and row is not None:
                applied.rotated.append(location.id)
        named = set(network.ids)
        for location_id, row in sorted(existing.items()):
            if location_id not in named and row.retired_at is None:
                row.retired_at = now
                applied.retired.append(location_id)
    return applied
