"""Reading what a client selected, so root resolvers prefetch exactly that."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            yield from _fields(selection.selections)


def _children(fields: Iterable[SelectedField], name: str) -> list[SelectedField]:
    return [child for field in fields for child in _fields(field.selections) if child.name == name]


def selected_node_fields(info: Info, *node_paths: tuple[str, ...]) -> set[str]:
    """Names of the fields selected on the items of the list this resolver returns.

    `node_paths` are the paths from the resolver's field to an item, e.g. ("edges", "node")
    and ("nodes",) for a connection.
    """
    names: set[str] = set()
    roots = list(_fields(info.selected_fields))
    for path in node_paths:
        level = roots
        for step in path:
            level = _children(level, step)
        names.update(child.name for field in level for child in _fields(field.selections))
    return names


CONNECTION_ITEM_PATHS = (("edges", "node"), ("nodes",))
