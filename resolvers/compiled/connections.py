"""A connection (Relay page) as one statement: the page's rows, their nodes, cursors and the total, as JSON.

The list's rows are the ordinary path's own statement (its filter, row scope and keyset window from
resolvers/pagination.py), read forwards; the answer is the JSON object the selection of the connection asks
for: `totalCount`, `edges { cursor node }`, `nodes`, `pageInfo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from resolvers.compiled.building import Build, FieldSql, json_object
from resolvers.compiled.selection import Selection
from resolvers.listing import count_of
from resolvers.pagination import PageArgs, SortOrder, beyond, decode_cursor, validate_page_args
from sources.cache.types import UTCDateTime


@dataclass(frozen=True, slots=True)
class ConnectionQuery:
    """One list to page through: its statement (filter and scope applied), order and node fields."""

    statement: Select[Any]
    order: SortOrder
    node_fields: Mapping[str, FieldSql]
    args: PageArgs
    default_size: int
    max_size: int


class BackwardPage(Exception):
    """`last`/`before` pages are read backwards and reversed: not compiled."""


@dataclass(frozen=True, slots=True)
class Window:
    """A page's shape, which the statement's text depends on; the `after` cursor's values are parameters."""

    size: int
    after: tuple[Any, ...] | None

    @property
    def shape(self) -> tuple[int, bool]:
        return self.size, self.after is not None


def window_of(query: ConnectionQuery) -> Window:
    """Checks the page arguments as the ordinary path does (raising its errors); BackwardPage for a backward one."""
    size, backward = validate_page_args(query.args, query.default_size, query.max_size)
    if backward:
        raise BackwardPage
    after = query.args.after
    return Window(size, None if after is None else tuple(decode_cursor(query.order, after)))


def cursor_parameters(prefix: str, window: Window) -> dict[str, Any]:
    return {f"{prefix}_after_{index}": value for index, value in enumerate(window.after or ())}


def connection_json(
    build: Build, query: ConnectionQuery, selection: Selection, window: Window, prefix: str
) -> ColumnElement[Any]:
    """The JSON of the connection's selection, the `after` values as parameters named `<prefix>_after_<n>`."""
    page = _Page(build, query, window, prefix)
    fields: dict[str, FieldSql] = {
        "totalCount": lambda b, c, s: b.json.scalar(count_of(query.statement).scalar_subquery()),
        "edges": lambda b, c, s: page.listed(json_object(b, page.edge_fields, c, s)),
        "nodes": lambda b, c, s: page.listed(json_object(b, query.node_fields, c, s)),
        "pageInfo": lambda b, c, s: json_object(b, page.info_fields, c, s),
    }
    return json_object(build, fields, page.rows.c, selection)


class _Page:
    """The page's rows (a subquery in the sort order, after the cursor) and the SQL of what hangs off them."""

    def __init__(self, build: Build, query: ConnectionQuery, window: Window, prefix: str) -> None:
        self.build, self.query, self.window = build, query, window
        columns = query.order.columns
        statement = query.statement
        if window.after is not None:
            values = [
                bindparam(f"{prefix}_after_{index}", value, type_=column.type)
                for index, (column, value) in enumerate(zip(columns, window.after, strict=True))
            ]
            statement = statement.where(beyond(query.order, values, forward=True))
        self.beyond_cursor = statement.order_by(*(c.desc() if query.order.descending else c.asc() for c in columns))
        self.rows = self.beyond_cursor.limit(window.size).subquery(f"page_{prefix}")
        self.sort_keys = [(str(column.key), query.order.descending) for column in columns]
        self.instants = [isinstance(column.type, UTCDateTime) for column in columns]
        self.edge_fields: dict[str, FieldSql] = {
            "cursor": lambda b, c, s: self.cursor(c),
            "node": lambda b, c, s: json_object(b, query.node_fields, c, s),
        }
        self.info_fields: dict[str, FieldSql] = {
            "hasNextPage": lambda b, c, s: b.json.boolean(self.has_next_page()),
            "hasPreviousPage": lambda b, c, s: b.json.boolean(literal(window.after is not None)),
            "startCursor": lambda b, c, s: self.end_cursor(last=False),
            "endCursor": lambda b, c, s: self.end_cursor(last=True),
        }

    def cursor(self, row: Any) -> ColumnElement[Any]:
        values = [(row[name], instant) for (name, _), instant in zip(self.sort_keys, self.instants, strict=True)]
        return self.build.json.cursor(self.query.order.name, values)

    def listed(self, element: ColumnElement[Any]) -> ColumnElement[Any]:
        rows = select(element.label("element"), *(self.rows.c[name] for name, _ in self.sort_keys))
        return self.build.json.array(rows.select_from(self.rows), "element", self.sort_keys)

    def end_cursor(self, *, last: bool) -> ColumnElement[Any]:
        page = self.rows
        ordering = [
            page.c[name].desc() if descending != last else page.c[name].asc() for name, descending in self.sort_keys
        ]
        first = select(self.cursor(page.c)).select_from(page).order_by(*ordering).limit(1).scalar_subquery()
        return self.build.json.nullable(first)  # an empty page has neither

    def has_next_page(self) -> ColumnElement[bool]:
        one_more = select(literal(1, Integer)).select_from(self.beyond_cursor.limit(self.window.size + 1).subquery())
        return select(func.count()).select_from(one_more.subquery()).scalar_subquery() > self.window.size


CONNECTION_FIELDS = frozenset({"totalCount", "edges", "nodes", "pageInfo"})
EDGE_FIELDS = frozenset({"cursor", "node"})
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})
