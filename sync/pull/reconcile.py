"""Full reconciliation: what the location no longer has is removed from the cache.

A delta pull shows changed records, never deleted ones; after a full pull the gateway
knows every record the location holds, so anything cached for it beyond those is gone
there. Each entity type decides what "removed" means for it (a customer mapping is deleted,
a resource retired, a stock level kept); removals are logged with their before-image, so
rolling the job back restores them.
"""

from __future__ import annotations

from collections.abc import Set

from sources.cache.writer import CacheWriter
from sources.connectors.records import EntityType
from sync.apply.batch import ApplyResult
from sync.apply.registry import pulled


async def remove_missing(
    writer: CacheWriter, location_id: str, kind: EntityType, seen: Set[str], job_id: str
) -> ApplyResult:
    """Remove from the cache what the location did not list in a full pull of `kind` (`seen`: its keys)."""
    result = ApplyResult()
    async with writer.transaction() as session:
        await pulled(kind).reconcile(session, location_id, seen, job_id, result)
    return result
