"""Arguments every list field shares."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import strawberry

from resolvers.ids import keys_of
from resolvers.pagination import PageArgs

First: TypeAlias = Annotated[
    int | None, strawberry.argument(description="Page size, counted from the start or `after`.")
]
After: TypeAlias = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
Last: TypeAlias = Annotated[
    int | None, strawberry.argument(description="Page size, counted back from the end or `before`.")
]
Before: TypeAlias = Annotated[str | None, strawberry.argument(description="Return items before this cursor.")]

MaxAge: TypeAlias = Annotated[
    int | None,
    strawberry.argument(
        description=(
            "Freshness bound in seconds (default from settings): data older than this at a reachable "
            "location is refreshed live first; `extensions.freshness` says per location where the answer came from."
        )
    ),
]

IdArgument: TypeAlias = Annotated[strawberry.ID, strawberry.argument(description="Global id, as `id` returns it.")]


def page_args(first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
    return PageArgs(first=first, after=after, last=last, before=before)


def id_strings(ids: list[strawberry.ID] | None) -> list[str] | None:
    return None if ids is None else [str(i) for i in ids]


def location_keys(ids: list[strawberry.ID] | None) -> list[str] | None:
    """The keys inside Location ids; None, which bounds nothing, when none are given (also for an empty list)."""
    return keys_of([str(i) for i in ids], "Location") if ids else None
