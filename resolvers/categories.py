"""A network category as a search condition over services: each location's own names for it, aligned.

Pooled availability and `createBooking(category:)` both search by the network's word; this is the one
place that turns it into which (location, own category) pairs mean it (`sources/network/categories.py`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

from resolvers.context import Context
from resolvers.errors import InvalidInputError
from sources.network.categories import CategoryMap


def require_known(categories: CategoryMap, category: str) -> None:
    """Refuse a category outside the network's vocabulary (when it has one), naming what it has."""
    if not categories.knows(category):
        known = ", ".join(sorted(categories.vocabulary))
        raise InvalidInputError(f"{category!r} is not a network category; the network's are: {known}", field="category")


def offering(
    categories: CategoryMap,
    location_id: SQLColumnExpression[str],
    category_column: SQLColumnExpression[str],
    category: str,
) -> ColumnElement[bool]:
    """Services whose location's own category means the network `category` (checked with `require_known`
    first); a location's unmapped category never matches."""
    taken = categories.taken_elsewhere(category)
    spelled_so = category_column == category
    if taken:
        spelled_so = and_(spelled_so, location_id.not_in(taken))
    mapped = [
        and_(location_id == owner, category_column.in_(own)) for owner, own in categories.own_names(category).items()
    ]
    return or_(spelled_so, *mapped)


def network_category(context: Context, location_id: str, category: str) -> str | None:
    """What a location's own category means in the network; None: unmapped (no category search finds it)."""
    return context.services.categories.network_category(location_id, category)
