"""Cross-cutting extensions: the `maxAge` bound a root field declares, and the freshness report of a response."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from resolvers.clock import utc_now
from resolvers.context import Context, FreshnessEntry
from resolvers.freshness import FreshData, refresh_for_query
from schema.arguments import MaxAge

MAX_AGE = "max_age"


class Fresh(FieldExtension):
    """A root field that answers from the cache no older than `maxAge`: the extension adds the argument, and
    before the resolver runs refreshes live the locations the field reads (`locations` picks them from the
    field's arguments; all when it is absent or picks none) whose `data` is older than the bound.
    Every location asked is reported in `extensions.freshness`; after a live refresh the request's loaders
    start afresh (resolvers.freshness). The resolver itself never sees `max_age`.
    """

    def __init__(self, data: FreshData, *, locations: Callable[..., Sequence[str] | None] | None = None) -> None:
        self.data = data
        self.locations = locations

    def apply(self, field: StrawberryField) -> None:
        # Last, as every bounded field has always listed it; once, however many schemas are built from the field.
        if all(argument.python_name != MAX_AGE for argument in field.arguments):
            argument = StrawberryArgument(MAX_AGE, None, StrawberryAnnotation(MaxAge), default=None)
            field.arguments = [*field.arguments, argument]

    async def resolve_async(self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        max_age = kwargs.pop(MAX_AGE, None)
        locations = None if self.locations is None else self.locations(**kwargs)
        await refresh_for_query(info.context, locations, self.data, max_age)
        return await next_(source, info, **kwargs)


class FreshnessExtension(SchemaExtension):
    """`extensions.freshness`: per location and kind of data, cache or live, how old, what failed, and why a
    location that is never refreshed live cannot be (`cannotRefresh`, null for the others)."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context) or not context.freshness:
            return {}
        return {"freshness": freshness_report(context.freshness, utc_now())}


def freshness_report(entries: Sequence[FreshnessEntry], now: datetime) -> dict[str, dict[str, Any]]:
    """`extensions.freshness` of these entries as of `now` (the response cache renders stored ones again)."""
    report: dict[str, dict[str, Any]] = {}
    for entry in entries:
        item = entry.report
        age = item.age_seconds(now)
        report.setdefault(item.location_id, {})[entry.data] = {
            "source": item.source.value,
            "refreshedAt": item.refreshed_at.isoformat() if item.refreshed_at else None,
            "ageSeconds": None if age is None else round(age, 3),
            "error": item.error,
            "cannotRefresh": item.cannot_refresh,
        }
    return report
