"""Cross-cutting response extensions."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from resolvers.context import Context
from sources.cache.types import utc_now


class FreshnessExtension(SchemaExtension):
    """`extensions.freshness`: per location and kind of data, cache or live, how old, what failed."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.freshness:
            return {}
        now = utc_now()
        report: dict[str, dict[str, Any]] = {}
        for item in context.freshness:
            age = item.age_seconds(now)
            report.setdefault(item.location_id, {})[item.kind.value] = {
                "source": item.source.value,
                "refreshedAt": item.refreshed_at.isoformat() if item.refreshed_at else None,
                "ageSeconds": None if age is None else round(age, 3),
                "error": item.error,
            }
        return {"freshness": report}
