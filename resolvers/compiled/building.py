"""What every compiled field is built from: the dialect's JSON, the caller's row scope, and this request's page
windows of the nested connections the selection holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, literal
from sqlalchemy.sql.elements import ColumnElement

from resolvers.compiled.json_sql import JsonSql
from resolvers.compiled.selection import Selection
from resolvers.pagination import SortOrder
from resolvers.scope import RowScope


@dataclass(frozen=True, slots=True)
class Site:
    """A nested connection's page for this request: its order, window, and the prefix of its parameters."""

    order: SortOrder
    window: Any  # connections.Window
    prefix: str


@dataclass(frozen=True, slots=True)
class Build:
    """What every field's SQL depends on besides its row: the dialect's JSON, the caller's row scope, and the
    nested connections' pages (by Selection.site)."""

    json: JsonSql
    scope: RowScope
    sites: Sequence[Site] = field(default=())


FieldSql = Callable[[Build, Any, Selection], ColumnElement[Any]]


def json_object(build: Build, fields: Mapping[str, FieldSql], columns: Any, selection: Selection) -> ColumnElement[Any]:
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for child in selection.children:
        if child.field == "__typename":
            pairs.append((child.key, build.json.scalar(literal(child.typename, String))))
        else:
            pairs.append((child.key, fields[child.field](build, columns, child)))
    return build.json.object(pairs)
