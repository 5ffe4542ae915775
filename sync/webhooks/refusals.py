"""A refused delivery (bad signature, expired, malformed, duplicate) leaves one audit entry and nothing else:
written in its own short transaction, so the refusal is on record even though nothing of the delivery is."""

from __future__ import annotations

from typing import Any

from sources.cache.journal import audit
from sources.cache.writer import CacheWriter

DETAIL_MAX = 500


async def record_refusal(
    writer: CacheWriter,
    *,
    sender: str,
    endpoint: str,
    status: int,
    code: str,
    reason: str,
    location_id: str | None = None,
    request_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    details = {"endpoint": endpoint[:DETAIL_MAX], "status": status, "code": code, "reason": reason[:DETAIL_MAX]}
    async with writer.transaction() as session:
        await audit(
            session,
            actor=sender[:200],
            action="webhook.refused",
            entity_type="webhook",
            entity_id=code[:64],
            location_id=location_id,
            request_id=request_id[:64] if request_id else None,
            details={**details, **(extra or {})},
        )
