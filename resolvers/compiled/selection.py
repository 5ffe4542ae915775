"""What the GraphQL face hands the compiled read path: the selection of one root field, as plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Selection:
    """One selected field: the key it answers under (alias or name), its GraphQL name, what is selected in it,
    for `__typename` the type name it answers, and for a nested connection the index of its arguments among
    the operation's (its page differs per request)."""

    key: str
    field: str
    children: tuple[Selection, ...] = ()
    typename: str | None = None
    site: int | None = None
